"""Verdict rules and campaign policy: pure functions of the findings.

Each reason code has a severity and a score penalty:

* ``invalid`` — mail cannot be delivered (bad syntax, no such domain, null MX, MX on a
  private address, unknown mailbox, a previous hard bounce);
* ``unknown`` — the check could not finish (DNS timeout or SERVFAIL, greylisting, a
  probe refused for policy reasons). A timeout is never evidence of invalidity;
* ``risky`` — deliverable but likely to hurt (disposable, role account, catch-all,
  probable typo, look-alike domain, A-record fallback, a previous complaint);
* ``info`` — facts that do not change the verdict (free-mail, SMTPUTF8, probe skipped).

The verdict is the worst severity present (invalid > unknown > risky > valid). The score
is 100 minus the penalties, floored at 0; an invalid address scores at most 5.

:func:`excluded_by_policy` decides whether a campaign skips an address, from the verdict,
the reason codes and a :class:`Policy` built from settings (default: invalid and
disposable addresses are excluded; risky ones are sent to and counted in preflight).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sendwell.errors import ConfigError
from sendwell.verify.records import VERDICTS, Finding, Reason, Verdict

__all__ = ["Policy", "Severity", "decide", "excluded_by_policy", "severity_of"]

Severity = Literal["invalid", "unknown", "risky", "info"]

_RULES: dict[Reason, tuple[Severity, int]] = {
    Reason.EMPTY: ("invalid", 100),
    Reason.SYNTAX: ("invalid", 100),
    Reason.CONTROL_CHARS: ("invalid", 100),
    Reason.BIDI_CONTROL: ("invalid", 100),
    Reason.TOO_LONG: ("invalid", 100),
    Reason.BAD_ENCODING: ("invalid", 100),
    Reason.HOMOGLYPH_DOMAIN: ("risky", 50),
    Reason.SMTPUTF8: ("info", 5),
    Reason.POSSIBLE_DUPLICATE: ("info", 10),
    Reason.DOMAIN_NOT_FOUND: ("invalid", 100),
    Reason.NULL_MX: ("invalid", 100),
    Reason.NO_MAIL_HOST: ("invalid", 100),
    Reason.MX_UNRESOLVABLE: ("invalid", 100),
    Reason.MX_RESERVED_ADDRESS: ("invalid", 100),
    Reason.IMPLICIT_MX: ("risky", 25),
    Reason.DNS_TIMEOUT: ("unknown", 50),
    Reason.DNS_ERROR: ("unknown", 50),
    Reason.DISPOSABLE: ("risky", 60),
    Reason.ROLE: ("risky", 30),
    Reason.FREE: ("info", 0),
    Reason.TYPO: ("risky", 50),
    Reason.MAILBOX_OK: ("info", 0),
    Reason.MAILBOX_NOT_FOUND: ("invalid", 100),
    Reason.MAILBOX_FULL: ("risky", 40),
    Reason.CATCH_ALL: ("risky", 30),
    Reason.GREYLISTED: ("unknown", 30),
    Reason.PROBE_DEFERRED: ("unknown", 30),
    Reason.PROBE_REFUSED: ("unknown", 30),
    Reason.PROBE_FAILED: ("unknown", 30),
    Reason.PROBE_SKIPPED: ("info", 0),
    Reason.HARD_BOUNCED: ("invalid", 100),
    Reason.COMPLAINED: ("risky", 60),
}

_RANK: dict[Severity, int] = {"info": 0, "risky": 1, "unknown": 2, "invalid": 3}
_VERDICT_OF: dict[Severity, Verdict] = {
    "info": "valid",
    "risky": "risky",
    "unknown": "unknown",
    "invalid": "invalid",
}


def severity_of(code: Reason) -> Severity:
    return _RULES[code][0]


def decide(findings: Iterable[Finding]) -> tuple[Verdict, int]:
    """The verdict and score (0-100) for a set of findings."""
    worst: Severity = "info"
    penalty = 0
    for finding in findings:
        severity, points = _RULES[finding.code]
        penalty += points
        if _RANK[severity] > _RANK[worst]:
            worst = severity
    score = max(0, 100 - penalty)
    if worst == "invalid":
        score = min(score, 5)
    return _VERDICT_OF[worst], score


@dataclass(frozen=True)
class Policy:
    """What campaigns skip: any verdict in ``verdicts`` or any reason code in ``reasons``."""

    verdicts: frozenset[Verdict] = frozenset({"invalid"})
    reasons: frozenset[Reason] = frozenset({Reason.DISPOSABLE})

    @classmethod
    def from_text(cls, verdicts: str, reasons: str) -> Policy:
        """Parse the comma-separated setting values; unknown names are a ConfigError."""
        chosen_verdicts: set[Verdict] = set()
        for name in _split(verdicts):
            if name not in VERDICTS:
                raise ConfigError(
                    f"verify policy: unknown verdict {name!r} (one of {', '.join(VERDICTS)})"
                )
            chosen_verdicts.add(name)
        chosen_reasons: set[Reason] = set()
        for name in _split(reasons):
            try:
                chosen_reasons.add(Reason(name))
            except ValueError:
                raise ConfigError(f"verify policy: unknown reason code {name!r}") from None
        if "valid" in chosen_verdicts:
            raise ConfigError("verify policy: excluding 'valid' addresses would exclude everyone")
        return cls(frozenset(chosen_verdicts), frozenset(chosen_reasons))


def _split(text: str) -> list[str]:
    return [part.strip().lower() for part in text.split(",") if part.strip()]


def excluded_by_policy(verdict: Verdict, reasons: Iterable[str], policy: Policy) -> bool:
    """True when a campaign must skip an address with this verdict and these reason codes."""
    if verdict in policy.verdicts:
        return True
    wanted = {r.value for r in policy.reasons}
    return any(code in wanted for code in reasons)
