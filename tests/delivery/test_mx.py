"""MX resolution against the sandbox's authoritative DNS server (real DNS packets)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import dns.message
import dns.rdatatype
import pytest

from sendwell.clock import FrozenClock
from sendwell.delivery.mx import MxHost, MxResolver
from sendwell.errors import PermanentFailure, TemporaryFailure
from sendwell.sandbox.dns import DnsRecord, DnsServer

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

RECORDS = [
    DnsRecord("gmail.sandbox", "MX", "20 mx2.gmail.sandbox.", ttl=300),
    DnsRecord("gmail.sandbox", "MX", "10 mx1.gmail.sandbox.", ttl=300),
    DnsRecord("mx1.gmail.sandbox", "A", "127.0.1.1", ttl=600),
    DnsRecord("mx1.gmail.sandbox", "A", "127.0.1.2", ttl=600),
    DnsRecord("mx2.gmail.sandbox", "A", "127.0.1.3", ttl=600),
    DnsRecord("mx2.gmail.sandbox", "AAAA", "::1", ttl=600),
    # Another domain served by the same MX set (as googlemail.com is by Gmail's).
    DnsRecord("googlemail.sandbox", "MX", "5 MX1.gmail.sandbox.", ttl=300),
    DnsRecord("googlemail.sandbox", "MX", "5 mx2.gmail.sandbox.", ttl=300),
    DnsRecord("nomail.sandbox", "MX", "0 .", ttl=300),
    DnsRecord("aonly.sandbox", "A", "127.0.2.1", ttl=120),
    DnsRecord("txtonly.sandbox", "TXT", "v=spf1 -all"),
    DnsRecord("broken.sandbox", "MX", "10 mx.nowhere.sandbox."),
    DnsRecord("half.sandbox", "MX", "10 mx.nowhere.sandbox."),
    DnsRecord("half.sandbox", "MX", "20 mx.half.sandbox."),
    DnsRecord("mx.half.sandbox", "A", "127.0.3.1"),
    DnsRecord("xn--bcher-kva.sandbox", "MX", "10 mx.buecher.sandbox."),
    DnsRecord("mx.buecher.sandbox", "A", "127.0.4.1"),
    DnsRecord("short.sandbox", "MX", "10 mx.short.sandbox.", ttl=5),
    DnsRecord("mx.short.sandbox", "A", "127.0.5.1", ttl=5),
]


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 20))  # type: ignore[arg-type]


class Counted:
    """Counts the questions a DnsServer receives, by (name, type)."""

    def __init__(self, server: DnsServer) -> None:
        self.questions: Counter[tuple[str, str]] = Counter()
        original = server.answer

        def answer(wire: bytes, max_size: int | None) -> bytes | None:
            with contextlib.suppress(Exception):
                for question in dns.message.from_wire(wire).question:
                    name = question.name.to_text(omit_final_dot=True).lower()
                    self.questions[(name, dns.rdatatype.to_text(question.rdtype))] += 1
            return original(wire, max_size)

        server.answer = answer  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def dns_server(
    records: Iterable[DnsRecord] = RECORDS, faults: dict[str, str] | None = None
) -> AsyncIterator[tuple[DnsServer, Counted]]:
    server = DnsServer(list(records), faults=faults)
    counted = Counted(server)
    async with server:
        yield server, counted


def resolver(server: DnsServer, clock: FrozenClock, **kwargs: Any) -> MxResolver:
    kwargs.setdefault("timeout", 2.0)
    return MxResolver(server.address, clock=clock, **kwargs)


def test_mx_preference_order_and_addresses() -> None:
    async def scenario() -> None:
        async with dns_server() as (server, _):
            route = await resolver(server, FrozenClock(T0)).resolve("gmail.sandbox")
        assert route.domain == "gmail.sandbox"
        assert not route.implicit
        assert [(h.preference, h.name) for h in route.hosts] == [
            (10, "mx1.gmail.sandbox"),
            (20, "mx2.gmail.sandbox"),
        ]
        # Order inside one RRset is the server's choice (round robin): compare as sets.
        assert sorted(route.hosts[0].addresses) == ["127.0.1.1", "127.0.1.2"]
        assert route.hosts[1].addresses == ("127.0.1.3", "::1")  # IPv4 first
        assert route.expires_at == T0 + timedelta(seconds=300)  # min(MX 300, A 600)

    run(scenario())


def test_domains_with_the_same_mx_set_share_a_site() -> None:
    async def scenario() -> None:
        async with dns_server() as (server, _):
            mx = resolver(server, FrozenClock(T0))
            gmail = await mx.resolve("gmail.sandbox")
            googlemail = await mx.resolve("GoogleMail.Sandbox.")
        assert googlemail.domain == "googlemail.sandbox"
        assert [h.name for h in googlemail.hosts] == ["mx1.gmail.sandbox", "mx2.gmail.sandbox"]
        assert gmail.site == googlemail.site == "mx1.gmail.sandbox,mx2.gmail.sandbox"

    run(scenario())


def test_cached_until_ttl_then_refreshed() -> None:
    async def scenario() -> None:
        clock = FrozenClock(T0)
        async with dns_server() as (server, counted):
            mx = resolver(server, clock)
            first = await mx.resolve("aonly.sandbox")
            assert first.implicit
            assert first.expires_at == T0 + timedelta(seconds=120)
            # The zone changes; the cached answer stands until its TTL runs out.
            server.add(DnsRecord("aonly.sandbox", "MX", "10 mx.half.sandbox.", ttl=120))
            clock.advance(119)
            assert await mx.resolve("aonly.sandbox") == first
            assert counted.questions[("aonly.sandbox", "MX")] == 1
            clock.advance(1)
            refreshed = await mx.resolve("aonly.sandbox")
            assert counted.questions[("aonly.sandbox", "MX")] == 2
        assert not refreshed.implicit
        assert refreshed.hosts == (MxHost(10, "mx.half.sandbox", ("127.0.3.1",)),)
        assert refreshed.expires_at == T0 + timedelta(seconds=240)

    run(scenario())


def test_ttl_clamped_to_min_and_max() -> None:
    async def scenario() -> None:
        async with dns_server() as (server, _):
            route = await resolver(server, FrozenClock(T0), min_ttl=60).resolve("short.sandbox")
            assert route.expires_at == T0 + timedelta(seconds=60)
            route = await resolver(server, FrozenClock(T0), max_ttl=100).resolve("gmail.sandbox")
            assert route.expires_at == T0 + timedelta(seconds=100)

    run(scenario())


def test_null_mx_is_permanent() -> None:
    async def scenario() -> None:
        async with dns_server() as (server, counted):
            mx = resolver(server, FrozenClock(T0))
            for _ in range(2):
                with pytest.raises(PermanentFailure) as caught:
                    await mx.resolve("nomail.sandbox")
                assert caught.value.reply == (
                    "5.1.10 domain nomail.sandbox does not accept mail (null MX, RFC 7505)"
                )
            assert counted.questions[("nomail.sandbox", "MX")] == 1  # cached
            assert counted.questions[(".", "A")] == 0  # "." is never looked up

    run(scenario())


def test_nxdomain_is_permanent_and_cached_for_negative_ttl() -> None:
    async def scenario() -> None:
        clock = FrozenClock(T0)
        async with dns_server() as (server, counted):
            mx = resolver(server, clock, negative_ttl=300)
            with pytest.raises(PermanentFailure) as caught:
                await mx.resolve("nosuch.sandbox")
            assert caught.value.code == 0
            assert caught.value.reply == "5.1.2 domain nosuch.sandbox does not exist"
            server.add(DnsRecord("nosuch.sandbox", "A", "127.0.9.9"))
            clock.advance(299)
            with pytest.raises(PermanentFailure):
                await mx.resolve("nosuch.sandbox")
            assert counted.questions[("nosuch.sandbox", "MX")] == 1
            clock.advance(1)
            route = await mx.resolve("nosuch.sandbox")
            assert route.implicit

    run(scenario())


def test_a_only_domain_gets_implicit_route() -> None:
    async def scenario() -> None:
        async with dns_server() as (server, _):
            route = await resolver(server, FrozenClock(T0)).resolve("aonly.sandbox")
        assert route.implicit
        assert route.hosts == (MxHost(0, "aonly.sandbox", ("127.0.2.1",)),)
        assert route.site == "aonly.sandbox"

    run(scenario())


def test_neither_mx_nor_address_is_permanent() -> None:
    async def scenario() -> None:
        async with dns_server() as (server, _):
            with pytest.raises(PermanentFailure, match=r"^5\.1\.2 "):
                await resolver(server, FrozenClock(T0)).resolve("txtonly.sandbox")

    run(scenario())


def test_unresolvable_mx_hosts_are_skipped() -> None:
    async def scenario() -> None:
        async with dns_server() as (server, _):
            mx = resolver(server, FrozenClock(T0))
            route = await mx.resolve("half.sandbox")
            assert [h.name for h in route.hosts] == ["mx.half.sandbox"]
            with pytest.raises(TemporaryFailure, match=r"^4\.4\.3 no address") as caught:
                await mx.resolve("broken.sandbox")
            assert caught.value.code == 0

    run(scenario())


def test_servfail_is_temporary_and_not_cached() -> None:
    async def scenario() -> None:
        async with dns_server(faults={"gmail.sandbox": "servfail"}) as (server, _):
            mx = resolver(server, FrozenClock(T0))
            with pytest.raises(TemporaryFailure) as caught:
                await mx.resolve("gmail.sandbox")
            assert caught.value.code == 0
            assert caught.value.reply.startswith("4.4.3 DNS lookup for gmail.sandbox failed:")
            server.set_fault("gmail.sandbox", None)
            route = await mx.resolve("gmail.sandbox")  # same instant: nothing was cached
            assert len(route.hosts) == 2

    run(scenario())


def test_timeout_is_temporary() -> None:
    async def scenario() -> None:
        async with dns_server(faults={"gmail.sandbox": "timeout"}) as (server, _):
            mx = resolver(server, FrozenClock(T0), timeout=0.3)
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(TemporaryFailure, match="timed out") as caught:
                await mx.resolve("gmail.sandbox")
            assert loop.time() - started < 2
            assert caught.value.reply.startswith("4.4.3 DNS lookup for gmail.sandbox failed")

    run(scenario())


def test_concurrent_resolves_share_one_query() -> None:
    async def scenario() -> None:
        async with dns_server() as (server, counted):
            mx = resolver(server, FrozenClock(T0))
            routes = await asyncio.gather(*(mx.resolve("gmail.sandbox") for _ in range(50)))
        assert len(set(routes)) == 1
        assert counted.questions[("gmail.sandbox", "MX")] == 1
        assert counted.questions[("mx1.gmail.sandbox", "A")] == 1

    run(scenario())


def test_concurrent_failures_share_one_query() -> None:
    async def scenario() -> None:
        async with dns_server(faults={"gmail.sandbox": "servfail"}) as (server, counted):
            mx = resolver(server, FrozenClock(T0))
            results = await asyncio.gather(
                *(mx.resolve("gmail.sandbox") for _ in range(20)), return_exceptions=True
            )
        assert all(isinstance(r, TemporaryFailure) for r in results)
        # One shared lookup; each caller still gets its own exception object.
        assert len({id(r) for r in results}) == 20
        assert counted.questions[("gmail.sandbox", "MX")] == 1

    run(scenario())


def test_unicode_domain_is_converted_to_a_labels() -> None:
    async def scenario() -> None:
        async with dns_server() as (server, _):
            mx = resolver(server, FrozenClock(T0))
            route = await mx.resolve("bücher.sandbox")
            assert route.domain == "xn--bcher-kva.sandbox"
            assert route.hosts[0].addresses == ("127.0.4.1",)
            assert await mx.resolve("xn--bcher-kva.sandbox") is route  # same cache entry

    run(scenario())


@pytest.mark.parametrize("domain", ["", ".", "a..b"])
def test_invalid_domain_is_permanent(domain: str) -> None:
    async def scenario() -> None:
        async with dns_server() as (server, _):
            with pytest.raises(PermanentFailure, match=r"^5\.1\.2 invalid domain"):
                await resolver(server, FrozenClock(T0)).resolve(domain)

    run(scenario())
