"""Checking a sending domain's published DNS: SPF, DKIM and DMARC, with the fix for each.

``check_domain`` asks DNS (through the resolver the settings name — the sandbox in tests)
and returns one :class:`Finding` per requirement:

* SPF: the domain publishes exactly one ``v=spf1`` record and it authorizes every
  configured source: each IP/CIDR must fall inside an ``ip4``/``ip6``/``a``/``mx``
  mechanism (following ``include:`` and ``redirect=``), each relay ``include:x`` must be
  included; at most 10 DNS-querying terms, as RFC 7208 §4.6.4 allows.
* DKIM: the TXT at ``<selector>._domainkey`` carries the stored key's public part.
* DMARC: ``_dmarc.<domain>`` publishes ``v=DMARC1``; alignment holds because sendwell
  signs with the From domain's own key (d= = From domain); strict SPF alignment (aspf=s)
  with a VERP domain other than the From domain is reported, as SPF then cannot align.

Limits: SPF macros, ``exists:`` and ``ptr`` are not evaluated (reported as unverifiable
rather than guessed); the organizational domain for relaxed alignment is approximated by
the last two labels (no public-suffix list).
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.resolver

from sendwell.compose.dkim import public_key_b64
from sendwell.dnsclient import make_resolver
from sendwell.domains.records import parse_sources
from sendwell.domains.store import SendingDomain
from sendwell.errors import ConfigError

_MAX_LOOKUPS = 10


@dataclass(frozen=True)
class Finding:
    """One requirement: passed or not, what was seen, and what to do about it."""

    check: str
    ok: bool
    detail: str
    fix: str = ""


class DnsLookup:
    """TXT / A / AAAA / MX lookups through one resolver; missing names give empty lists."""

    def __init__(self, nameserver: tuple[str, int] | None, timeout: float = 5.0) -> None:
        self._dns = make_resolver(nameserver, timeout)

    async def _query(self, name: str, rtype: str) -> list[str]:
        try:
            answer = await self._dns.resolve(name, rtype)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise DnsCheckError(f"DNS lookup {name} {rtype} failed: {exc}") from None
        if rtype == "TXT":
            return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
        if rtype == "MX":
            return [r.exchange.to_text().rstrip(".") for r in answer]
        return [r.to_text() for r in answer]

    async def txt(self, name: str) -> list[str]:
        return await self._query(name, "TXT")

    async def addresses(self, name: str) -> list[str]:
        return await self._query(name, "A") + await self._query(name, "AAAA")

    async def mx(self, name: str) -> list[str]:
        return await self._query(name, "MX")


class DnsCheckError(ConfigError):
    """DNS could not be asked (timeout, SERVFAIL); the check is inconclusive."""


@dataclass
class _SpfWalk:
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
    includes: set[str]
    unverifiable: list[str]
    lookups: int = 0


async def _spf_record(lookup: DnsLookup, domain: str) -> list[str]:
    return [t for t in await lookup.txt(domain) if t.lower().startswith("v=spf1")]


async def _walk(lookup: DnsLookup, domain: str, walk: _SpfWalk, depth: int = 0) -> None:
    records = await _spf_record(lookup, domain)
    if len(records) != 1:
        return
    for term in records[0].split()[1:]:
        qualifier = term[0] if term[0] in "+-~?" else "+"
        term = term.lstrip("+-~?")
        key, _, value = term.partition(":")
        key = key.lower()
        if key.startswith("redirect="):
            key, value = "redirect", term.split("=", 1)[1]
        if qualifier != "+" and key != "redirect":
            continue
        if key in ("include", "redirect", "a", "mx", "exists", "ptr"):
            walk.lookups += 1
            if walk.lookups > _MAX_LOOKUPS or depth > _MAX_LOOKUPS:
                walk.unverifiable.append(f"more than {_MAX_LOOKUPS} DNS lookups")
                return
        if key in ("ip4", "ip6"):
            try:
                walk.networks.append(ipaddress.ip_network(value, strict=False))
            except ValueError:
                walk.unverifiable.append(f"bad term {term}")
        elif key in ("include", "redirect"):
            walk.includes.add(value.lower())
            await _walk(lookup, value, walk, depth + 1)
        elif key in ("a", "mx"):
            target, _, cidr = (value or domain).partition("/")
            hosts = [target] if key == "a" else await lookup.mx(target)
            for host in hosts:
                for address in await lookup.addresses(host):
                    net = ipaddress.ip_network(address)
                    if cidr and cidr.isdigit() and net.version == 4:
                        net = ipaddress.ip_network(f"{address}/{cidr}", strict=False)
                    walk.networks.append(net)
        elif key in ("exists", "ptr") or "%" in term:
            walk.unverifiable.append(term)


async def check_spf(lookup: DnsLookup, domain: str, sources: list[str]) -> Finding:
    records = await _spf_record(lookup, domain)
    if not records:
        return Finding("SPF", False, "no v=spf1 record", f"publish the SPF TXT record at {domain}")
    if len(records) > 1:
        return Finding(
            "SPF", False, f"{len(records)} SPF records (a permerror)", "merge them into one"
        )
    if not sources:
        return Finding(
            "SPF",
            True,
            f"published: {records[0]} (no spf_sources configured to compare with)",
            "set spf_sources to the IPs/relays that send, to have them checked",
        )
    walk = _SpfWalk(networks=[], includes=set(), unverifiable=[])
    await _walk(lookup, domain, walk)
    missing = []
    for source in sources:
        if source.startswith("include:"):
            if source.split(":", 1)[1].lower() not in walk.includes:
                missing.append(source)
            continue
        try:
            ip = ipaddress.ip_network(source.split(":", 1)[-1] if source[:4] in ("ip4:", "ip6:")
                                      else source, strict=False)  # fmt: skip
        except ValueError:
            missing.append(f"{source} (not an IP, CIDR or include:)")
            continue
        if not any(
            ip.version == net.version and ip.subnet_of(net)  # type: ignore[arg-type]
            for net in walk.networks
        ):
            missing.append(source)
    if missing:
        detail = f"{records[0]!r} does not cover {', '.join(missing)}"
        if walk.unverifiable:
            detail += f" (not evaluated: {', '.join(walk.unverifiable)})"
        return Finding("SPF", False, detail, f"add {' '.join(missing)} to the SPF record")
    return Finding("SPF", True, f"covers {', '.join(sources)}")


def _tags(text: str) -> dict[str, str]:
    tags = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags[key.strip().lower()] = "".join(value.split())
    return tags


async def check_dkim(lookup: DnsLookup, domain: str, selector: str, public_b64: str) -> Finding:
    name = f"{selector}._domainkey.{domain}"
    texts = await lookup.txt(name)
    if not texts:
        return Finding("DKIM", False, f"no TXT record at {name}", f"publish the DKIM record {name}")
    published = [_tags(t).get("p", "") for t in texts]
    if public_b64 in published:
        return Finding("DKIM", True, f"{name} carries the stored key")
    return Finding(
        "DKIM",
        False,
        f"{name} carries a different key",
        "replace the TXT value with the one `sendwell domains add` printed",
    )


def _org(domain: str) -> str:
    return ".".join(domain.lower().split(".")[-2:])


async def check_dmarc(lookup: DnsLookup, domain: str, bounce_domain: str) -> list[Finding]:
    texts = [t for t in await lookup.txt(f"_dmarc.{domain}") if t.startswith("v=DMARC1")]
    if not texts:
        return [
            Finding(
                "DMARC",
                False,
                f"no v=DMARC1 record at _dmarc.{domain}",
                "publish the suggested DMARC record (p=none to start)",
            )
        ]
    tags = _tags(texts[0])
    findings = [Finding("DMARC", True, f"published, p={tags.get('p', '?')}")]
    # DKIM alignment: we sign with d=<From domain> itself, so relaxed and strict both hold.
    findings.append(Finding("DMARC alignment (DKIM)", True, f"d={domain} equals the From domain"))
    envelope = bounce_domain or domain
    strict = tags.get("aspf", "r") == "s"
    aligned = envelope == domain if strict else _org(envelope) == _org(domain)
    findings.append(
        Finding(
            "DMARC alignment (SPF)",
            aligned,
            f"return path domain {envelope} ({'strict' if strict else 'relaxed'})",
            "" if aligned else "use a bounce_domain under the From domain (or rely on DKIM)",
        )
    )
    return findings


async def check_domain(
    lookup: DnsLookup,
    *,
    domain: str,
    selectors: list[tuple[str, str]],
    spf_sources: str,
    bounce_domain: str,
) -> list[Finding]:
    """Every finding for one domain; ``selectors`` are (selector, public key base64)."""
    findings = [await check_spf(lookup, domain, parse_sources(spf_sources))]
    for selector, public in selectors:
        findings.append(await check_dkim(lookup, domain, selector, public))
    findings.extend(await check_dmarc(lookup, domain, bounce_domain))
    return findings


def check_sending_domain(
    domain: SendingDomain,
    secret_key: bytes,
    *,
    nameserver: tuple[str, int] | None,
    spf_sources: str,
    bounce_domain: str,
    timeout: float = 5.0,
) -> list[Finding]:
    """Every finding for a stored sending domain, with the public keys it should publish.

    Runs its own event loop (call it from a thread without one); raises
    :class:`DnsCheckError` when DNS could not be asked.
    """
    selectors = [(domain.selector, public_key_b64(domain.private_pem(secret_key)))]
    ed_pem = domain.ed25519_pem(secret_key)
    if domain.ed25519_selector and ed_pem:
        selectors.append((domain.ed25519_selector, public_key_b64(ed_pem)))
    return asyncio.run(
        check_domain(
            DnsLookup(nameserver, timeout),
            domain=domain.domain,
            selectors=selectors,
            spf_sources=spf_sources,
            bounce_domain=bounce_domain,
        )
    )
