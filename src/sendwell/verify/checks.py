"""The offline checks and the assembly of a :class:`Verification`: pure, no I/O.

:func:`offline` runs the layers that need nothing but the address and the reference
lists (syntax, disposable, role, free-mail, typo); :func:`assemble` adds the findings of
the online layers (DNS, probe, history), which ``service.py`` gathers, and applies the
verdict rules. Keeping this pure lets the bulk path verify tens of thousands of
addresses a second and lets tests cover every combination without sockets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sendwell.audience.addresses import address_hash
from sendwell.verify.lists import ReferenceLists
from sendwell.verify.records import Check, Finding, ParsedAddress, Reason, Verification
from sendwell.verify.syntax import parse_address
from sendwell.verify.typos import suggest_domain
from sendwell.verify.verdict import decide

__all__ = ["OfflineResult", "assemble", "offline", "rejected"]


@dataclass(frozen=True, slots=True)
class OfflineResult:
    """What the offline layers found about one address."""

    parsed: ParsedAddress
    findings: tuple[Finding, ...]
    suggestion: str | None
    disposable: bool
    role: bool
    free: bool


def offline(raw: str, lists: ReferenceLists, checks: frozenset[Check]) -> OfflineResult:
    """Run syntax (always) and whichever of disposable/role/free/typo ``checks`` names."""
    parsed = parse_address(raw)
    findings = list(parsed.findings)
    if not parsed.ok:
        return OfflineResult(parsed, tuple(findings), None, False, False, False)
    domain = parsed.domain
    disposable = "disposable" in checks and lists.is_disposable(domain)
    if disposable:
        findings.append(Finding(Reason.DISPOSABLE, f"{domain} is a disposable-address service"))
    role = "role" in checks and lists.is_role(parsed.local)
    if role:
        findings.append(Finding(Reason.ROLE, f"{parsed.local.lower()}@ is a role account"))
    free = "free" in checks and lists.is_free(domain)
    if free:
        findings.append(Finding(Reason.FREE, f"{domain} is a free-mail provider"))
    suggestion: str | None = None
    # Typo domains of big providers are often registered by disposable services
    # (gmial.com is on the disposable list): suggest the fix either way.
    if "typo" in checks:
        better = suggest_domain(domain)
        if better is not None:
            suggestion = f"{parsed.local}@{better}"
            findings.append(Finding(Reason.TYPO, f"did you mean {suggestion}?"))
    return OfflineResult(parsed, tuple(findings), suggestion, disposable, role, free)


def assemble(
    result: OfflineResult, extra: Iterable[Finding], checks: frozenset[Check]
) -> Verification:
    """The final record: offline findings plus ``extra``, judged by the verdict rules."""
    findings = _unique((*result.findings, *extra))
    verdict, score = decide(findings)
    parsed = result.parsed
    return Verification(
        address=parsed.address,
        normalized=parsed.normalized,
        email_hash=address_hash(parsed.normalized) if parsed.normalized else None,
        domain=parsed.domain,
        verdict=verdict,
        score=score,
        findings=findings,
        suggestion=result.suggestion,
        disposable=result.disposable,
        role=result.role,
        free=result.free,
        checks=checks,
    )


def _unique(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """One finding per code (the first), so a reason is never listed twice."""
    seen: set[Reason] = set()
    out: list[Finding] = []
    for finding in findings:
        if finding.code not in seen:
            seen.add(finding.code)
            out.append(finding)
    return tuple(out)


def rejected(address: str, finding: Finding, checks: frozenset[Check]) -> Verification:
    """The record for input refused before any check (unreadable or over-long line)."""
    parsed = ParsedAddress(address, None, "", "", (finding,))
    return assemble(OfflineResult(parsed, (finding,), None, False, False, False), (), checks)
