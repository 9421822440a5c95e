"""GCRA arithmetic and the in-process throttles."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from sendwell.delivery.rates import Rate
from sendwell.delivery.throttle import LocalThrottles, gcra


def test_gcra_spaces_events_by_the_interval() -> None:
    rate = Rate(10, 1)  # one every 0.1 s
    tat = None
    allowed = []
    now = 100.0
    for step in range(40):
        now = 100.0 + step * 0.025
        decision = gcra(tat, rate, now)
        if decision.allowed:
            tat = decision.new_tat
            allowed.append(now)
    assert len(allowed) == 10  # 1 s of time at 10/s
    gaps = [b - a for a, b in itertools.pairwise(allowed)]
    assert all(gap >= 0.1 - 1e-9 for gap in gaps)


def test_gcra_reports_how_long_to_wait() -> None:
    rate = Rate(100, 3600)
    first = gcra(None, rate, 0.0)
    assert first.allowed
    second = gcra(first.new_tat, rate, 1.0)
    assert not second.allowed
    assert second.wait == pytest.approx(35.0)
    assert second.new_tat == first.new_tat  # nothing was taken


def test_gcra_burst_allows_back_to_back_events_after_idle() -> None:
    rate = Rate(1, 1)
    tat = None
    allowed = 0
    for _ in range(10):
        d = gcra(tat, rate, 50.0, burst=3)
        if d.allowed:
            tat = d.new_tat
            allowed += 1
    assert allowed == 3


def test_gcra_does_not_bank_idle_time_beyond_the_burst() -> None:
    rate = Rate(1, 1)
    d = gcra(None, rate, 0.0)
    later = gcra(d.new_tat, rate, 1000.0)
    assert later.allowed
    assert not gcra(later.new_tat, rate, 1000.0).allowed


def test_local_connection_leases() -> None:
    async def main() -> None:
        t = LocalThrottles()
        assert await t.acquire_connection("k", 2, "a", 0.0, ttl=10)
        assert await t.acquire_connection("k", 2, "b", 0.0, ttl=10)
        assert not await t.acquire_connection("k", 2, "c", 0.0, ttl=10)
        assert await t.acquire_connection("k", 2, "a", 1.0, ttl=10)  # re-acquire own lease
        assert await t.connections("k", 1.0) == 2
        await t.release_connection("k", "a")
        assert await t.acquire_connection("k", 2, "c", 1.0, ttl=10)
        # An expired lease (a dead session) frees its slot.
        assert await t.acquire_connection("k", 2, "d", 20.0, ttl=10)
        assert await t.connections("k", 20.0) == 1

    asyncio.run(main())


def test_local_take_waits_without_taking() -> None:
    async def main() -> None:
        t = LocalThrottles()
        rate = Rate(2, 1)
        assert await t.take("k", rate, 0.0) == 0
        assert await t.take("k", rate, 0.0) == pytest.approx(0.5)
        assert await t.take("k", rate, 0.5) == 0

    asyncio.run(main())
