"""Grouping recipient domains into sites over real DNS (the sandbox's server), and the plan."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from sendwell.clock import FrozenClock
from sendwell.delivery.mx import MxResolver
from sendwell.delivery.planner import DeliveryPlanner, group_sites
from sendwell.delivery.shaping import load_shaping
from sendwell.sandbox.dns import DnsRecord, DnsServer

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
GOOGLE_MX = "alt1.aspmx.l.google.com"
RECORDS = [
    DnsRecord("gmail.test", "MX", f"5 {GOOGLE_MX}."),
    DnsRecord("hosted-at-google.test", "MX", f"10 {GOOGLE_MX}."),
    DnsRecord(GOOGLE_MX, "A", "127.0.9.1"),
    DnsRecord("small.test", "MX", "10 mx.small.test."),
    DnsRecord("mx.small.test", "A", "127.0.9.2"),
    DnsRecord("nullmx.test", "MX", "0 ."),
    DnsRecord("slow.test", "MX", "10 mx.slow.test."),
    DnsRecord("tail1.test", "MX", "10 mx.tail.test."),
    DnsRecord("tail2.test", "MX", "10 mx.tail.test."),
]
DOMAINS = {
    "gmail.test": 200, "hosted-at-google.test": 100, "small.test": 30, "nullmx.test": 7,
    "gone.test": 5, "slow.test": 20, "tail1.test": 2, "tail2.test": 1,
}  # fmt: skip


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_domains_sharing_mx_hosts_are_one_site_and_failures_are_kept_apart() -> None:
    async def main() -> None:
        async with DnsServer(RECORDS) as server:
            server.set_fault("slow.test", "timeout")
            resolver = MxResolver(server.address, clock=FrozenClock(NOW), timeout=0.5)
            grouping = await group_sites(DOMAINS, resolver, max_lookups=6, budget=5)
        sites = {s.site: s for s in grouping.sites}
        google = sites[GOOGLE_MX]
        assert (google.recipients, google.domains) == (300, ("gmail.test", "hosted-at-google.test"))
        assert google.mx_hosts == (GOOGLE_MX,)
        assert sites["mx.small.test"].recipients == 30
        # NXDOMAIN and null MX bounce at once: not a site, no sending time.
        assert grouping.undeliverable == {"nullmx.test": 7, "gone.test": 5}
        # A lookup that times out: its own site, no MX hosts (default limits).
        assert grouping.unresolved == ("slow.test",)
        assert sites["slow.test"].mx_hosts == () and sites["slow.test"].recipients == 20
        # Beyond the cap of 6 lookups: one row for 2 separate small sites.
        tail = sites["(2 other domains)"]
        assert (tail.recipients, tail.sites, grouping.not_looked_up) == (3, 2, 2)

    _run(main())


def test_the_budget_bounds_the_whole_grouping_when_dns_does_not_answer() -> None:
    async def main() -> None:
        async with DnsServer(RECORDS) as server:
            for domain in DOMAINS:
                server.set_fault(domain, "timeout")
            resolver = MxResolver(server.address, clock=FrozenClock(NOW), timeout=30)
            loop = asyncio.get_running_loop()
            started = loop.time()
            grouping = await group_sites(DOMAINS, resolver, budget=0.5)
            elapsed = loop.time() - started
        assert elapsed < 5  # the budget, not the 30 s resolver timeout
        assert set(grouping.unresolved) == set(DOMAINS)
        assert sum(s.recipients for s in grouping.sites) == sum(DOMAINS.values())

    _run(main())


def test_the_planner_paces_each_site_by_its_provider_block() -> None:
    async def main() -> None:
        async with DnsServer(RECORDS) as server:
            planner = DeliveryPlanner(
                shaping=load_shaping(),
                resolver=MxResolver(server.address, clock=FrozenClock(NOW), timeout=1),
                warmup=dict,
                clock=FrozenClock(NOW),
                budget=5,
            )
            domains = {"gmail.test": 200, "hosted-at-google.test": 100, "nullmx.test": 7}
            plan = await asyncio.to_thread(planner.plan, "default", domains)
        (row,) = plan.rows
        assert (row.provider, row.recipients, row.connection_limit) == ("gmail", 300, 5)
        # 300 recipients at the shipped 100/h: 3 hours.
        assert plan.duration_seconds == pytest.approx(3 * 3600)
        assert any("7 recipients at domains that accept no mail" in n for n in plan.notes)

    _run(main())
