"""Typed records of the verify capability: reason codes, findings and results.

Every check reports what it found as :class:`Finding` values carrying a :class:`Reason`
code; the verdict rules (``verdict.py``) turn a set of findings into a verdict and a score.
Codes are part of the stable ``sendwell verify --json`` contract: add new ones, never
rename or remove one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Verdict = Literal["valid", "risky", "invalid", "unknown"]
VERDICTS: tuple[Verdict, ...] = ("valid", "risky", "invalid", "unknown")

Check = Literal["syntax", "dns", "disposable", "role", "free", "typo", "probe", "history"]
CHECKS: tuple[Check, ...] = (
    "syntax",
    "dns",
    "disposable",
    "role",
    "free",
    "typo",
    "probe",
    "history",
)
# The mailbox probe talks to other people's servers: it runs only when asked for.
DEFAULT_CHECKS: frozenset[Check] = frozenset(c for c in CHECKS if c != "probe")


class Reason(StrEnum):
    """Why an address got its verdict; the string value is the public code."""

    # syntax and input
    EMPTY = "empty"
    SYNTAX = "syntax"
    CONTROL_CHARS = "control_chars"
    BIDI_CONTROL = "bidi_control"
    TOO_LONG = "too_long"
    BAD_ENCODING = "bad_encoding"
    HOMOGLYPH_DOMAIN = "homoglyph_domain"
    SMTPUTF8 = "smtputf8"
    POSSIBLE_DUPLICATE = "possible_duplicate"
    # domain
    DOMAIN_NOT_FOUND = "domain_not_found"
    NULL_MX = "null_mx"
    NO_MAIL_HOST = "no_mail_host"
    MX_UNRESOLVABLE = "mx_unresolvable"
    MX_RESERVED_ADDRESS = "mx_reserved_address"
    IMPLICIT_MX = "implicit_mx"
    DNS_TIMEOUT = "dns_timeout"
    DNS_ERROR = "dns_error"
    # lists
    DISPOSABLE = "disposable"
    ROLE = "role"
    FREE = "free"
    TYPO = "typo"
    # mailbox probe
    MAILBOX_OK = "mailbox_ok"
    MAILBOX_NOT_FOUND = "mailbox_not_found"
    MAILBOX_FULL = "mailbox_full"
    CATCH_ALL = "catch_all"
    GREYLISTED = "greylisted"
    PROBE_DEFERRED = "probe_deferred"
    PROBE_REFUSED = "probe_refused"
    PROBE_FAILED = "probe_failed"
    PROBE_SKIPPED = "probe_skipped"
    # sendwell's own history
    HARD_BOUNCED = "hard_bounced"
    COMPLAINED = "complained"


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason with a human explanation (``detail`` is not part of the JSON contract)."""

    code: Reason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """The outcome of the syntax layer.

    ``normalized`` is the address as sendwell stores and hashes it (local part and
    domain lower-cased, domain in IDNA ASCII form); ``None`` when the syntax is invalid.
    The address as given is never rewritten: it stays in ``address``.
    """

    address: str
    normalized: str | None
    local: str
    domain: str  # ASCII (A-label) form, lower case; "" when unknown
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return self.normalized is not None


@dataclass(frozen=True, slots=True)
class Verification:
    """Everything known about one address after the checks that were run."""

    address: str
    normalized: str | None
    email_hash: str | None
    domain: str
    verdict: Verdict
    score: int
    findings: tuple[Finding, ...]
    suggestion: str | None
    disposable: bool
    role: bool
    free: bool
    checks: frozenset[Check]

    @property
    def syntax_valid(self) -> bool:
        return self.normalized is not None

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(f.code.value for f in self.findings)

    def as_json(self) -> dict[str, object]:
        """The stable one-object-per-line contract of ``sendwell verify --json``."""
        return {
            "address": self.address,
            "normalized": self.normalized,
            "syntax_valid": self.syntax_valid,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "suggestion": self.suggestion,
            "disposable": self.disposable,
            "role": self.role,
            "free": self.free,
        }
