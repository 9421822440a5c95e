"""The domain layer against real DNS packets from the sandbox DNS server."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

import pytest

from sendwell.clock import FrozenClock
from sendwell.dnsclient import MxHost
from sendwell.errors import ConfigError
from sendwell.sandbox.dns import DnsRecord, DnsServer
from sendwell.verify.domains import DomainChecker, parse_networks
from sendwell.verify.records import Reason

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RECORDS = [
    DnsRecord("good.test-zone", "MX", "10 mx.good.test-zone.", ttl=300),
    DnsRecord("mx.good.test-zone", "A", "127.0.8.1", ttl=600),
    DnsRecord("nullmx.test-zone", "MX", "0 .", ttl=300),
    DnsRecord("aonly.test-zone", "A", "127.0.8.2", ttl=120),
    DnsRecord("txtonly.test-zone", "TXT", "v=spf1 -all"),
    DnsRecord("dangling.test-zone", "MX", "10 mx.nowhere.test-zone."),
    DnsRecord("private.test-zone", "MX", "10 mx.private.test-zone."),
    DnsRecord("mx.private.test-zone", "A", "10.1.2.3"),
    DnsRecord("mixed.test-zone", "MX", "10 mx.private.test-zone."),
    DnsRecord("mixed.test-zone", "MX", "20 mx.good.test-zone."),
    # Its MX host has no records to send as glue, and its own lookups time out.
    DnsRecord("slowmx.test-zone", "MX", "10 mx.slow.test-zone."),
]
SANDBOX = parse_networks("127.0.0.0/8")


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 30))


def checker(server: DnsServer, **kwargs: Any) -> DomainChecker:
    kwargs.setdefault("timeout", 1.0)
    kwargs.setdefault("allowed_networks", SANDBOX)
    return DomainChecker(server.address, clock=kwargs.pop("clock", FrozenClock(T0)), **kwargs)


def codes(report: Any) -> list[Reason]:
    return [f.code for f in report.findings]


def test_outcomes_of_each_kind_of_domain() -> None:
    async def scenario() -> None:
        async with DnsServer(RECORDS, faults={"servfail.test-zone": "servfail"}) as server:
            dns = checker(server)
            good = await dns.check("good.test-zone")
            assert good.findings == ()
            assert good.hosts == (MxHost(10, "mx.good.test-zone", ("127.0.8.1",)),)
            assert codes(await dns.check("nullmx.test-zone")) == [Reason.NULL_MX]
            assert codes(await dns.check("nosuch.test-zone")) == [Reason.DOMAIN_NOT_FOUND]
            aonly = await dns.check("aonly.test-zone")
            assert codes(aonly) == [Reason.IMPLICIT_MX] and aonly.implicit
            assert aonly.hosts[0].addresses == ("127.0.8.2",)
            assert codes(await dns.check("txtonly.test-zone")) == [Reason.NO_MAIL_HOST]
            assert codes(await dns.check("dangling.test-zone")) == [Reason.MX_UNRESOLVABLE]
            assert codes(await dns.check("servfail.test-zone")) == [Reason.DNS_ERROR]

    run(scenario())


def test_mx_on_reserved_addresses_is_invalid_unless_allowed() -> None:
    async def scenario() -> None:
        async with DnsServer(RECORDS) as server:
            strict = checker(server, allowed_networks=())
            assert codes(await strict.check("private.test-zone")) == [Reason.MX_RESERVED_ADDRESS]
            # Loopback is reserved too: the sandbox's own domains fail without the allowance.
            assert codes(await strict.check("good.test-zone")) == [Reason.MX_RESERVED_ADDRESS]
            assert codes(await strict.check("aonly.test-zone")) == [Reason.MX_RESERVED_ADDRESS]
            lenient = checker(server)
            assert codes(await lenient.check("private.test-zone")) == [Reason.MX_RESERVED_ADDRESS]
            mixed = await lenient.check("mixed.test-zone")
            assert mixed.findings == ()  # one usable MX is enough
            assert [h.name for h in mixed.hosts] == ["mx.good.test-zone"]

    run(scenario())


def test_timeouts_are_unknown_never_invalid_and_fast() -> None:
    async def scenario() -> None:
        faults = {"slow.test-zone": "timeout", "mx.slow.test-zone": "timeout"}
        async with DnsServer(RECORDS, faults=faults) as server:
            dns = checker(server, timeout=0.3)
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert codes(await dns.check("slow.test-zone")) == [Reason.DNS_TIMEOUT]
            assert codes(await dns.check("slowmx.test-zone")) == [Reason.DNS_TIMEOUT]
            assert loop.time() - started < 3

    run(scenario())


def test_each_domain_is_asked_once_and_cached_by_ttl() -> None:
    async def scenario() -> None:
        clock = FrozenClock(T0)
        async with DnsServer(RECORDS, faults={"servfail.test-zone": "servfail"}) as server:
            dns = checker(server, clock=clock)
            reports = await asyncio.gather(*(dns.check("good.test-zone") for _ in range(50)))
            assert len(set(reports)) == 1 and dns.lookups == 1
            await dns.check("servfail.test-zone")
            await dns.check("servfail.test-zone")  # failures are cached briefly too
            assert dns.lookups == 2
            clock.advance(299)
            await dns.check("good.test-zone")
            assert dns.lookups == 2
            clock.advance(1)  # the MX TTL (300 s) ran out
            await dns.check("good.test-zone")
            assert dns.lookups == 3

    run(scenario())


def test_bad_network_setting() -> None:
    with pytest.raises(ConfigError, match="not an IP network"):
        parse_networks("127.0.0.0/8, nonsense")
