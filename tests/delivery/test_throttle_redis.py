"""The Redis throttles: same semantics as the local ones, shared between clients."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from sendwell.delivery.rates import Rate
from sendwell.delivery.throttle_redis import RedisThrottles
from sendwell.errors import StorageError


def test_gcra_is_shared_between_two_clients(redis_url: str) -> None:
    async def main() -> None:
        ns = f"test-{uuid.uuid4().hex}"
        a, b = RedisThrottles(redis_url, namespace=ns), RedisThrottles(redis_url, namespace=ns)
        rate = Rate(1, 60)
        try:
            assert await a.take("k", rate, 0.0) == 0
            wait = await b.take("k", rate, 0.0)  # the other worker sees the same bucket
            assert 59 < wait <= 60
            other = RedisThrottles(redis_url, namespace=f"{ns}-other")
            assert await other.take("k", rate, 0.0) == 0  # namespaces do not mix
            await other.close()
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())


def test_connection_leases_are_shared_and_expire(redis_url: str) -> None:
    async def main() -> None:
        ns = f"test-{uuid.uuid4().hex}"
        a, b = RedisThrottles(redis_url, namespace=ns), RedisThrottles(redis_url, namespace=ns)
        try:
            assert await a.acquire_connection("c", 2, "l1", 0, ttl=30)
            assert await b.acquire_connection("c", 2, "l2", 0, ttl=30)
            assert not await b.acquire_connection("c", 2, "l3", 0, ttl=30)
            assert await a.connections("c", 0) == 2
            await a.release_connection("c", "l1")
            assert await b.acquire_connection("c", 2, "l3", 0, ttl=0.2)
            # A lease that is not renewed (a dead worker) frees its slot by itself.
            for _ in range(100):
                if await a.connections("c", 0) == 1:
                    break
                await asyncio.sleep(0.05)
            assert await a.acquire_connection("c", 2, "l4", 0, ttl=30)
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())


def test_unreachable_redis_is_a_storage_error() -> None:
    async def main() -> None:
        t = RedisThrottles("redis://127.0.0.1:1/0")
        with pytest.raises(StorageError, match="Redis"):
            await t.take("k", Rate(1, 1), 0.0)
        await t.close()

    asyncio.run(main())


def test_an_automation_action_one_worker_starts_reaches_the_others(redis_url: str) -> None:
    from sendwell.delivery.automation import ActionBoard, SharedAction
    from sendwell.delivery.shaping import load_shaping

    shaping = load_shaping()
    gmail = shaping.site_limits(["gmail-smtp-in.l.google.com"], shaping.sources[0])
    storm = "421-4.7.28 Our system has detected an unusual rate of unsolicited mail"

    async def main() -> None:
        ns = f"test-{uuid.uuid4().hex}"
        a, b = RedisThrottles(redis_url, namespace=ns), RedisThrottles(redis_url, namespace=ns)
        board_a, board_b = ActionBoard(), ActionBoard()
        now = 1_000.0
        try:
            action = board_a.observe(
                site_scope="site:x",
                source_scope="source:x",
                reply=storm,
                rules=gmail.automation,
                now=now,
                normal_connections=5,
            )
            assert action is not None
            await a.publish_action(SharedAction.of(action), now)
            shared = await b.fetch_actions(["site:x", "source:x", "site:other"], now + 1)
            assert [s.scope for s in shared] == ["site:x"]
            assert board_b.adopt(shared[0], gmail.automation, now + 1)
            assert not board_b.adopt(shared[0], gmail.automation, now + 1)  # already known
            shape = board_b.shape(
                site_scope="site:x", source_scope="source:x", base=gmail.limits, now=now + 2
            )
            assert shape.suspended(now + 2)
            assert shape.suspended_until == pytest.approx(now + 600)
            # A worker with other rules (another shaping file) ignores what it cannot match.
            assert not ActionBoard().adopt(shared[0], (), now + 1)
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())
