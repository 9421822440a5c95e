"""The syntax layer: RFC 5321/5322 syntax, RFC 6531 internationalized addresses, hostile input.

:func:`parse_address` never raises: every input gets a :class:`ParsedAddress`, valid or
with findings saying why not. Checks in order, cheapest first, so that hostile input
(10 KB local parts, NUL bytes, CR/LF header injection, bidi overrides) is refused before
any expensive work:

1. input over four times the longest address is ``too_long`` before it is even scanned;
   surrounding spaces and tabs are ignored; empty input is ``empty``;
2. control characters (C0, DEL, C1: NUL, CR, LF...) are ``control_chars``; bidi
   embedding/override/isolate marks are ``bidi_control`` — they make an address display
   differently from what it is;
3. more than 254 characters (RFC 5321 path limit) or a local part over 64 is ``too_long``;
4. a fast path accepts plain ASCII addresses (the vast majority) with one regular
   expression that is a strict subset of what ``email-validator`` accepts — a property
   test checks that the two agree — because the library alone manages ~30,000 addresses
   a second and bulk verification needs more; :func:`plain_address` is that fast path
   alone, for bulk work that only needs the normalized form (imports);
5. everything else goes through ``email-validator`` (quoted local parts, Unicode, IDNA).

Normalization matches ``sendwell.audience.addresses``: domain lower-cased and converted to
IDNA A-labels, local part lower-cased, so the hash equals the subscriber's ``email_hash``.

A Unicode domain label that mixes Latin with Cyrillic, Greek or Armenian letters, or is
written entirely with letters that look Latin (``paypal`` spelt in Cyrillic), is reported as
``homoglyph_domain``: such domains are a classic phishing trick and rarely real mailboxes.
Limits: no full Unicode confusables table (UTS #39); quoted local parts and domain
literals (``[192.0.2.1]``) are refused as ``email-validator`` refuses them by default.
"""

from __future__ import annotations

import re
import unicodedata

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from sendwell.verify.records import Finding, ParsedAddress, Reason

__all__ = ["parse_address", "plain_address"]

MAX_ADDRESS = 254
MAX_LOCAL = 64

_FAST = re.compile(
    r"(?P<local>[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z])?)"
)
_SPECIAL_TLDS = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# Letters of other scripts that render like Latin letters in common fonts.
_LATIN_LOOKALIKES = frozenset(
    "аеорсухіјѕԁԛԝһӏвкмнтАВЕКМНОРСТХІЈЅ"  # Cyrillic
    "αοορνυκτιΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"  # Greek
    "օսոհցզ"  # Armenian  # noqa: RUF001
)
_CONFUSABLE_SCRIPTS = frozenset({"CYRILLIC", "GREEK", "ARMENIAN"})


def parse_address(raw: str) -> ParsedAddress:
    """Check the syntax of ``raw`` and normalize it; never raises."""
    if len(raw) > 4 * MAX_ADDRESS:  # before any scan: hostile input costs nothing
        return _bad(raw, Finding(Reason.TOO_LONG, f"longer than {MAX_ADDRESS} characters"))
    text = raw.strip(" \t")
    if not text:
        return _bad(raw, Finding(Reason.EMPTY, "empty address"))
    control = _CONTROL.search(text)
    if control is not None:
        return _bad(
            raw,
            Finding(Reason.CONTROL_CHARS, f"contains control character {control.group()!r}"),
        )
    if _BIDI.search(text):
        return _bad(raw, Finding(Reason.BIDI_CONTROL, "contains a bidi control character"))
    if len(text) > MAX_ADDRESS:
        return _bad(raw, Finding(Reason.TOO_LONG, f"longer than {MAX_ADDRESS} characters"))
    local, at, _ = text.rpartition("@")
    if at and len(local) > MAX_LOCAL:
        return _bad(raw, Finding(Reason.TOO_LONG, f"local part longer than {MAX_LOCAL}"))

    fast = _FAST.fullmatch(text)
    if fast is not None and _fast_domain_ok(fast.group("domain")):
        local, domain = fast.group("local"), fast.group("domain").lower()
        return ParsedAddress(raw, f"{local.lower()}@{domain}", local, domain, ())
    return _slow(raw, text)


def plain_address(raw: str) -> tuple[str, str] | None:
    """``(normalized address, domain)`` when ``raw`` is a plain ASCII address, else None.

    For every input it accepts, the result is exactly what :func:`parse_address` gives
    (a property test checks this against it and ``email-validator``); None only means
    "not plain": ask :func:`parse_address`, which also says what is wrong. About three
    times cheaper than :func:`parse_address`, which builds a full record per address.
    """
    text = raw.strip(" \t")
    # The pattern admits printable ASCII only, so the control and bidi checks of
    # parse_address cannot fail for what it matches; the lengths still can.
    if len(text) > MAX_ADDRESS:
        return None
    fast = _FAST.fullmatch(text)
    if fast is None or fast.end("local") > MAX_LOCAL:
        return None
    email = text.lower()  # ASCII: the same as lower-casing each part
    domain = email[fast.end("local") + 1 :]
    if not _fast_domain_ok(domain):
        return None
    return email, domain


def _fast_domain_ok(domain: str) -> bool:
    """Domains the fast path may accept: no A-labels to decode, no special-use names."""
    lowered = domain.lower()
    if len(lowered) > 253 or "--" in lowered:
        return False
    return lowered.rsplit(".", 1)[-1] not in _SPECIAL_TLDS


def _slow(raw: str, text: str) -> ParsedAddress:
    try:
        info = validate_email(text, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        return _bad(raw, Finding(Reason.SYNTAX, str(exc)))
    except (UnicodeError, ValueError) as exc:  # IDNA codec corners the library lets through
        return _bad(raw, Finding(Reason.SYNTAX, f"cannot be encoded: {exc}"))
    domain = info.ascii_domain.lower()
    findings: list[Finding] = []
    if info.smtputf8:
        findings.append(
            Finding(Reason.SMTPUTF8, "internationalized local part: needs SMTPUTF8 (RFC 6531)")
        )
    suspicious = _homoglyph_label(info.domain)
    if suspicious is not None:
        findings.append(
            Finding(Reason.HOMOGLYPH_DOMAIN, f"domain label {suspicious!r} imitates Latin letters")
        )
    normalized = f"{info.local_part.lower()}@{domain}"
    return ParsedAddress(raw, normalized, info.local_part, domain, tuple(findings))


def _bad(raw: str, finding: Finding) -> ParsedAddress:
    if len(raw) > 4 * MAX_ADDRESS:
        return ParsedAddress(raw, None, "", "", (finding,))
    _, at, domain = raw.strip(" \t").rpartition("@")
    shown = domain.lower() if at and len(domain) <= 255 else ""
    local = raw.strip(" \t").rpartition("@")[0][:MAX_LOCAL] if at else ""
    return ParsedAddress(raw, None, local, shown, (finding,))


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else ""


def _homoglyph_label(domain: str) -> str | None:
    """The first label that mixes Latin with a look-alike script or fakes Latin entirely."""
    for label in domain.split("."):
        if label.isascii():
            continue
        letters = [c for c in label if c.isalpha()]
        scripts = {_script(c) for c in letters}
        lookalike_scripts = scripts & _CONFUSABLE_SCRIPTS
        if not lookalike_scripts:
            continue
        if "LATIN" in scripts:
            return label
        if letters and all(c in _LATIN_LOOKALIKES for c in letters):
            return label
    return None
