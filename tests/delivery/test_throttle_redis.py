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
