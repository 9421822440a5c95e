"""MX resolution for direct-to-MX delivery, with a TTL cache and shared lookups.

:class:`MxResolver` turns a recipient domain into an :class:`MxRoute`: the MX hosts in
preference order with their addresses, and a ``site`` key that groups domains served by
the same MX set (gmail.com and googlemail.com share one ready queue and one throttle).

Why a cache of our own: a bulk send asks for the same few domains tens of thousands of
times a minute. Answers are kept until their DNS TTL (clamped to ``[min_ttl, max_ttl]``)
runs out on the injected clock, and concurrent calls for one domain share a single
in-flight lookup so that a burst to one domain does not stampede the resolver.

Outcomes (RFC 5321 §5.1, RFC 7505):

- MX records → hosts sorted by preference; hosts whose address lookup fails are skipped,
  and if none is left the result is a :class:`TemporaryFailure` (not cached);
- no MX but an A/AAAA for the domain → an *implicit* route to the domain itself;
- null MX (``0 .``) → ``PermanentFailure`` 5.1.10; NXDOMAIN, or neither MX nor address →
  ``PermanentFailure`` 5.1.2; both cached (null MX for its TTL, the others for
  ``negative_ttl``);
- SERVFAIL, timeout, no nameserver answering → ``TemporaryFailure`` 4.4.3, never cached,
  so the next attempt asks again.

Equal-preference hosts are ordered by name. DNS answer order is arbitrary (servers and
caches rotate it), and the route is cached and shared, so shuffling here would only fix
one random order for a whole TTL; a fixed order keeps routes, logs and simulations
reproducible. Spreading load across equal hosts (RFC 5321 §5.1) is the connection pool's
job, at connect time: callers should treat hosts of equal preference as interchangeable.

Limits: no DNSSEC validation, no DANE/MTA-STS (separate concerns), no address literals
(``[192.0.2.1]``); IPv4 addresses are listed before IPv6 ones for each host.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from sendwell.clock import Clock
from sendwell.dnsclient import MxHost, make_resolver
from sendwell.errors import DeliveryError, PermanentFailure, TemporaryFailure

__all__ = ["MxHost", "MxResolver", "MxRoute"]


@dataclass(frozen=True, slots=True)
class MxRoute:
    """Where mail for ``domain`` goes, valid until ``expires_at``."""

    domain: str
    hosts: tuple[MxHost, ...]  # by preference, ties by name
    implicit: bool
    expires_at: datetime

    @property
    def site(self) -> str:
        """A stable key for the set of MX host names; domains sharing MX sets share it."""
        return ",".join(sorted({host.name for host in self.hosts}))


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A cached permanent failure; a fresh exception is raised from it on every hit."""

    code: int
    text: str

    def error(self) -> PermanentFailure:
        return PermanentFailure(self.code, self.text)


@dataclass(frozen=True, slots=True)
class _Entry:
    expires_at: datetime
    outcome: MxRoute | _Refusal


class MxResolver:
    """Resolves recipient domains to :class:`MxRoute` values, caching by TTL.

    ``nameserver`` is ``(host, port)`` of the resolver to ask (the sandbox DNS in tests
    and demos), or ``None`` for the system configuration (``/etc/resolv.conf``).
    """

    def __init__(
        self,
        nameserver: tuple[str, int] | None,
        *,
        clock: Clock,
        timeout: float = 5.0,
        min_ttl: int = 60,
        max_ttl: int = 86400,
        negative_ttl: int = 300,
    ) -> None:
        self._dns = make_resolver(nameserver, timeout)
        self._clock = clock
        self._min_ttl = min_ttl
        self._max_ttl = max_ttl
        self._negative_ttl = negative_ttl
        self._cache: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Task[_Entry]] = {}

    async def resolve(self, domain: str) -> MxRoute:
        """The route for ``domain`` (ASCII or Unicode); raises Temporary/PermanentFailure."""
        name = _parse_domain(domain)
        key = name.to_text(omit_final_dot=True).lower()
        entry = self._cache.get(key)
        if entry is None or self._clock.now() >= entry.expires_at:
            task = self._inflight.get(key)
            if task is None:
                task = asyncio.create_task(self._lookup(name, key))
                self._inflight[key] = task
                task.add_done_callback(lambda t: self._finished(key, t))
            try:
                # shield: one caller being cancelled must not cancel the others' lookup.
                entry = await asyncio.shield(task)
            except DeliveryError as exc:
                # Every waiter gets its own exception: re-raising one shared instance from
                # many tasks would pile all their tracebacks onto it.
                raise type(exc)(exc.code, exc.reply) from exc.__cause__
        if isinstance(entry.outcome, _Refusal):
            raise entry.outcome.error()
        return entry.outcome

    def forget(self, domain: str) -> None:
        """Drop a cached answer (e.g. after an operator fixed a domain's DNS)."""
        self._cache.pop(_parse_domain(domain).to_text(omit_final_dot=True).lower(), None)

    def _finished(self, key: str, task: asyncio.Task[_Entry]) -> None:
        self._inflight.pop(key, None)
        if task.cancelled():
            return
        error = task.exception()  # also marks it retrieved if every waiter went away
        if error is None:
            self._cache[key] = task.result()

    # -- lookups ----------------------------------------------------------------------

    async def _lookup(self, name: dns.name.Name, domain: str) -> _Entry:
        now = self._clock.now()
        try:
            answer = await self._dns.resolve(name, "MX", search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return self._refusal(now, f"5.1.2 domain {domain} does not exist")
        except dns.exception.DNSException as exc:
            raise _dns_failure(domain, exc) from exc

        records = list(answer.rrset) if answer.rrset is not None else []
        if not records:
            return await self._implicit(name, domain, now)

        mx_ttl = answer.rrset.ttl if answer.rrset is not None else self._min_ttl
        exchanges = [(int(r.preference), r.exchange) for r in records]
        if all(exchange == dns.name.root for _, exchange in exchanges):
            return _Entry(
                now + timedelta(seconds=self._clamp(mx_ttl)),
                _Refusal(0, f"5.1.10 domain {domain} does not accept mail (null MX, RFC 7505)"),
            )
        # A "." mixed with real exchanges violates RFC 7505; the real ones are used.
        exchanges = [(p, e) for p, e in exchanges if e != dns.name.root]
        # Ties ordered by name, not by DNS order (see the module docstring).
        exchanges.sort(key=lambda item: (item[0], item[1].to_text().lower()))

        looked_up = await asyncio.gather(*(self._addresses(e) for _, e in exchanges))
        hosts: list[MxHost] = []
        ttls = [mx_ttl]
        for (preference, exchange), (addresses, ttl) in zip(exchanges, looked_up, strict=True):
            if addresses:
                hosts.append(
                    MxHost(preference, exchange.to_text(omit_final_dot=True).lower(), addresses)
                )
                ttls.append(ttl)
        if not hosts:
            names = ", ".join(e.to_text(omit_final_dot=True) for _, e in exchanges)
            raise TemporaryFailure(0, f"4.4.3 no address found for any MX of {domain} ({names})")
        expires_at = now + timedelta(seconds=self._clamp(min(ttls)))
        return _Entry(expires_at, MxRoute(domain, tuple(hosts), False, expires_at))

    async def _implicit(self, name: dns.name.Name, domain: str, now: datetime) -> _Entry:
        """No MX: the domain itself is the mail host if it has an address (RFC 5321 §5.1)."""
        try:
            addresses, ttl = await self._addresses(name, strict=True)
        except dns.resolver.NXDOMAIN:
            addresses, ttl = (), 0
        except dns.exception.DNSException as exc:
            raise _dns_failure(domain, exc) from exc
        if not addresses:
            return self._refusal(now, f"5.1.2 domain {domain} has neither MX nor address")
        expires_at = now + timedelta(seconds=self._clamp(ttl))
        host = MxHost(0, domain, addresses)
        return _Entry(expires_at, MxRoute(domain, (host,), True, expires_at))

    async def _addresses(
        self, name: dns.name.Name, *, strict: bool = False
    ) -> tuple[tuple[str, ...], int]:
        """A then AAAA addresses of ``name`` and the smallest TTL among them.

        Failures of one family count as "no address" unless ``strict``, in which case the
        first DNS error is raised when no family produced an address.
        """
        results = await asyncio.gather(
            self._dns.resolve(name, "A", search=False, raise_on_no_answer=False),
            self._dns.resolve(name, "AAAA", search=False, raise_on_no_answer=False),
            return_exceptions=True,
        )
        addresses: list[str] = []
        ttls: list[int] = []
        first_error: BaseException | None = None
        for result in results:
            if isinstance(result, BaseException):
                if not isinstance(result, dns.exception.DNSException):
                    raise result
                first_error = first_error or result
                continue
            if result.rrset is not None and len(result.rrset):
                addresses.extend(r.address for r in result.rrset)
                ttls.append(result.rrset.ttl)
        if not addresses and strict and first_error is not None:
            raise first_error
        return tuple(addresses), min(ttls, default=0)

    def _refusal(self, now: datetime, text: str) -> _Entry:
        return _Entry(now + timedelta(seconds=self._negative_ttl), _Refusal(0, text))

    def _clamp(self, ttl: int) -> int:
        return max(self._min_ttl, min(ttl, self._max_ttl))


def _parse_domain(domain: str) -> dns.name.Name:
    """An absolute DNS name for ``domain``; Unicode is converted to A-labels (IDNA)."""
    text = domain.strip().rstrip(".")
    try:
        name = dns.name.from_text(text) if text else dns.name.root
    except dns.exception.DNSException as exc:
        raise PermanentFailure(0, f"5.1.2 invalid domain {domain!r}: {exc}") from exc
    if name == dns.name.root:
        raise PermanentFailure(0, f"5.1.2 invalid domain {domain!r}")
    return name


def _dns_failure(domain: str, exc: BaseException) -> DeliveryError:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, dns.exception.Timeout):
        detail = "timed out"
    elif isinstance(exc, dns.resolver.NoNameservers):
        detail = "no nameserver answered (SERVFAIL or refused)"
    return TemporaryFailure(0, f"4.4.3 DNS lookup for {domain} failed: {detail}")
