"""The domain layer: does the domain exist and can it receive mail? DNS with a TTL cache.

:class:`DomainChecker` answers, per domain, a :class:`DomainReport`: findings (empty when
all is well) and the usable mail hosts for the probe. It follows ``delivery.mx`` (a TTL
cache on the injected clock, concurrent questions for one domain sharing one lookup,
dnspython errors translated here) but is separate because verification needs finer
outcomes than delivery's "temporary or permanent":

* NXDOMAIN → ``domain_not_found``; null MX (RFC 7505) → ``null_mx``;
* no MX but an A/AAAA record → usable, with the risky ``implicit_mx`` (RFC 5321 §5.1
  allows it, but A-only domains are mostly parked web sites);
* neither → ``no_mail_host``; MX hosts that do not resolve → ``mx_unresolvable``;
* every MX address loopback, private, link-local, reserved or otherwise not globally
  routable → ``mx_reserved_address`` (networks listed in ``allowed_networks`` are exempt:
  the sandbox lives on 127.0.0.0/8);
* timeouts → ``dns_timeout``; SERVFAIL/REFUSED/other errors → ``dns_error``: both give
  the verdict ``unknown``, never ``invalid``.

Answers are cached until their TTL (clamped to ``[min_ttl, max_ttl]``), negative answers
for ``negative_ttl``, and failures for the short ``error_ttl`` so that a bulk run asks
about a broken domain once rather than once per address. MX host addresses are cached per
host (many domains share MX hosts) and taken from the additional section of the MX
answer when the server sends them there.

Limits: no DNSSEC validation; additional-section addresses are trusted as complete for
their host; MX targets that are CNAMEs are followed by the resolver as usual.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
import dns.rrset

from sendwell.clock import Clock
from sendwell.dnsclient import MxHost, make_resolver
from sendwell.errors import ConfigError
from sendwell.verify.records import Finding, Reason

__all__ = ["DomainChecker", "DomainReport", "parse_networks"]

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class DomainReport:
    """What DNS says about a domain; ``findings`` is empty when it can receive mail."""

    domain: str
    findings: tuple[Finding, ...]
    hosts: tuple[MxHost, ...]
    implicit: bool
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class _HostAnswer:
    addresses: tuple[str, ...]
    ttl: int
    error: Finding | None  # a temporary failure, when no address was found


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """Comma-separated CIDR networks from a setting; raises ConfigError on a bad one."""
    networks: list[IpNetwork] = []
    for part in text.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ConfigError(f"{part.strip()!r} is not an IP network") from None
    return tuple(networks)


class DomainChecker:
    """Checks domains against DNS; ``nameserver`` None means the system resolver."""

    def __init__(
        self,
        nameserver: tuple[str, int] | None,
        *,
        clock: Clock,
        timeout: float = 5.0,
        min_ttl: int = 60,
        max_ttl: int = 86400,
        negative_ttl: int = 300,
        error_ttl: int = 30,
        allowed_networks: Iterable[IpNetwork] = (),
    ) -> None:
        self._dns = make_resolver(nameserver, timeout)
        self._clock = clock
        self._min_ttl = min_ttl
        self._max_ttl = max_ttl
        self._negative_ttl = negative_ttl
        self._error_ttl = error_ttl
        self._allowed = tuple(allowed_networks)
        self._cache: dict[str, DomainReport] = {}
        self._inflight: dict[str, asyncio.Task[DomainReport]] = {}
        self._hosts: dict[str, tuple[datetime, _HostAnswer]] = {}
        self.lookups = 0  # domains actually asked about (cache misses), for tests and stats

    async def check(self, domain: str) -> DomainReport:
        """The report for ``domain`` (lower-case ASCII, as the syntax layer gives it)."""
        key = domain.lower().rstrip(".")
        cached = self._cache.get(key)
        if cached is not None and self._clock.now() < cached.expires_at:
            return cached
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._lookup(key))
            self._inflight[key] = task
            task.add_done_callback(lambda t: self._finished(key, t))
        # shield: one cancelled caller must not cancel the lookup the others wait for.
        return await asyncio.shield(task)

    def _finished(self, key: str, task: asyncio.Task[DomainReport]) -> None:
        self._inflight.pop(key, None)
        if not task.cancelled() and task.exception() is None:
            self._cache[key] = task.result()

    # -- lookups ----------------------------------------------------------------------

    async def _lookup(self, domain: str) -> DomainReport:
        self.lookups += 1
        now = self._clock.now()
        try:
            name = dns.name.from_text(domain)
        except (dns.exception.DNSException, ValueError) as exc:
            return self._report(domain, now, self._negative_ttl, Reason.NO_MAIL_HOST, str(exc))
        try:
            answer = await self._dns.resolve(name, "MX", search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return self._report(
                domain, now, self._negative_ttl, Reason.DOMAIN_NOT_FOUND, "no such domain"
            )
        except dns.exception.DNSException as exc:
            failure = _failure(exc)
            return self._report(domain, now, self._error_ttl, failure.code, failure.detail)

        rrset = answer.rrset
        if rrset is None or not len(rrset):
            return await self._implicit(domain, name, now)
        exchanges = sorted(
            ((int(r.preference), r.exchange) for r in rrset),
            key=lambda item: (item[0], item[1].to_text().lower()),
        )
        if all(exchange == dns.name.root for _, exchange in exchanges):
            return self._report(
                domain, now, self._clamp(rrset.ttl), Reason.NULL_MX, "null MX: accepts no mail"
            )
        exchanges = [(p, e) for p, e in exchanges if e != dns.name.root]
        glue = _glue(answer.response.additional)
        answers = await asyncio.gather(
            *(self._host(e, glue.get(e.to_text().lower()), now) for _, e in exchanges)
        )
        usable: list[MxHost] = []
        reserved: list[str] = []
        errors: list[Finding] = []
        ttls = [rrset.ttl]
        for (preference, exchange), host in zip(exchanges, answers, strict=True):
            host_name = exchange.to_text(omit_final_dot=True).lower()
            public = tuple(a for a in host.addresses if self._routable(a))
            if public:
                usable.append(MxHost(preference, host_name, public))
                ttls.append(host.ttl)
            elif host.addresses:
                reserved.append(f"{host_name} ({', '.join(host.addresses)})")
            elif host.error is not None:
                errors.append(host.error)
        if usable:
            expires = now + timedelta(seconds=self._clamp(min(ttls)))
            return DomainReport(domain, (), tuple(usable), False, expires)
        if errors:
            return self._report(domain, now, self._error_ttl, errors[0].code, errors[0].detail)
        if reserved:
            return self._report(
                domain,
                now,
                self._clamp(rrset.ttl),
                Reason.MX_RESERVED_ADDRESS,
                "MX resolves only to non-routable addresses: " + "; ".join(reserved),
            )
        names = ", ".join(e.to_text(omit_final_dot=True) for _, e in exchanges)
        return self._report(
            domain, now, self._negative_ttl, Reason.MX_UNRESOLVABLE, f"no MX host resolves: {names}"
        )

    async def _implicit(self, domain: str, name: dns.name.Name, now: datetime) -> DomainReport:
        """No MX records: the domain's own A/AAAA is the mail host (RFC 5321 §5.1)."""
        host = await self._addresses(name)
        public = tuple(a for a in host.addresses if self._routable(a))
        if public:
            expires = now + timedelta(seconds=self._clamp(host.ttl))
            finding = Finding(Reason.IMPLICIT_MX, "no MX record; mail would go to its A record")
            return DomainReport(domain, (finding,), (MxHost(0, domain, public),), True, expires)
        if host.addresses:
            return self._report(
                domain,
                now,
                self._clamp(host.ttl),
                Reason.MX_RESERVED_ADDRESS,
                f"no MX; A record is not routable ({', '.join(host.addresses)})",
            )
        if host.error is not None:
            return self._report(domain, now, self._error_ttl, host.error.code, host.error.detail)
        return self._report(
            domain, now, self._negative_ttl, Reason.NO_MAIL_HOST, "neither MX nor A record"
        )

    async def _host(
        self, exchange: dns.name.Name, glue: _HostAnswer | None, now: datetime
    ) -> _HostAnswer:
        key = exchange.to_text().lower()
        if glue is not None:
            self._hosts[key] = (now + timedelta(seconds=self._clamp(glue.ttl)), glue)
            return glue
        cached = self._hosts.get(key)
        if cached is not None and now < cached[0]:
            return cached[1]
        answer = await self._addresses(exchange)
        ttl = self._error_ttl if answer.error is not None else self._clamp(answer.ttl)
        self._hosts[key] = (now + timedelta(seconds=ttl), answer)
        return answer

    async def _addresses(self, name: dns.name.Name) -> _HostAnswer:
        """A and AAAA of ``name``; a failure counts only when no family gave an address."""
        results = await asyncio.gather(
            self._dns.resolve(name, "A", search=False, raise_on_no_answer=False),
            self._dns.resolve(name, "AAAA", search=False, raise_on_no_answer=False),
            return_exceptions=True,
        )
        addresses: list[str] = []
        ttls: list[int] = []
        error: Finding | None = None
        for result in results:
            if isinstance(result, dns.resolver.NXDOMAIN):
                continue
            if isinstance(result, dns.exception.DNSException):
                error = error or _failure(result)
                continue
            if isinstance(result, BaseException):
                raise result
            if result.rrset is not None and len(result.rrset):
                addresses.extend(r.address for r in result.rrset)
                ttls.append(result.rrset.ttl)
        return _HostAnswer(tuple(addresses), min(ttls, default=0), None if addresses else error)

    def _routable(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if any(ip in network for network in self._allowed):
            return True
        return ip.is_global and not ip.is_multicast

    def _report(
        self, domain: str, now: datetime, ttl: int, code: Reason, detail: str
    ) -> DomainReport:
        expires = now + timedelta(seconds=ttl)
        return DomainReport(domain, (Finding(code, f"{domain}: {detail}"),), (), False, expires)

    def _clamp(self, ttl: int) -> int:
        return max(self._min_ttl, min(ttl, self._max_ttl))


def _glue(additional: list[dns.rrset.RRset]) -> dict[str, _HostAnswer]:
    """Addresses the server volunteered for the MX hosts (saves a round trip per host)."""
    found: dict[str, tuple[list[str], list[int]]] = {}
    for rrset in additional:
        if rrset.rdtype not in (dns.rdatatype.A, dns.rdatatype.AAAA):
            continue
        addresses, ttls = found.setdefault(rrset.name.to_text().lower(), ([], []))
        addresses.extend(r.address for r in rrset)
        ttls.append(rrset.ttl)
    return {
        name: _HostAnswer(tuple(addresses), min(ttls), None)
        for name, (addresses, ttls) in found.items()
    }


def _failure(exc: BaseException) -> Finding:
    if isinstance(exc, dns.exception.Timeout):
        return Finding(Reason.DNS_TIMEOUT, "DNS lookup timed out")
    if isinstance(exc, dns.resolver.NoNameservers):
        return Finding(Reason.DNS_ERROR, "no nameserver answered (SERVFAIL or refused)")
    return Finding(Reason.DNS_ERROR, f"DNS lookup failed: {exc or type(exc).__name__}")
