"""Throttles shared through Redis, so any number of workers respect one set of limits.

Each operation is one Lua script, atomic on the server: GCRA for rates (one key holding
the theoretical arrival time) and a sorted set of connection leases per key (member =
lease id, score = expiry). Time comes from the Redis server's clock (``TIME``), not from
the workers', so machines with skewed clocks still share one timeline; the ``now``
arguments of the :class:`~sendwell.delivery.throttle.Throttles` protocol are ignored here.

A worker that dies holding connection leases frees them when they expire (the engine
renews a lease with every message, and gives it a TTL of a few SMTP timeouts).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from sendwell.delivery.automation import SharedAction
from sendwell.delivery.rates import Rate
from sendwell.errors import StorageError

_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local allow_at = tat - tolerance
if allow_at > now then return tostring(allow_at - now) end
local new = tat + interval
redis.call('SET', KEYS[1], string.format('%.6f', new), 'PX', math.ceil((new - now) * 1000) + 1000)
return '0'
"""

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) and redis.call('ZCARD', KEYS[1]) >= limit then
  return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 1000) + 1000)
return 1
"""

_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 1000) + 1000)
return 1
"""

_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""


class RedisThrottles:
    """The :class:`~sendwell.delivery.throttle.Throttles` protocol on a Redis server."""

    def __init__(self, url: str, *, namespace: str = "sendwell") -> None:
        self._url = url
        self._prefix = f"{namespace}:throttle:"
        self._client: aioredis.Redis | None = None
        self._scripts: dict[str, Any] = {}

    def _redis(self) -> aioredis.Redis:
        # Created lazily inside the worker's event loop: redis-py binds to the running loop.
        if self._client is None:
            self._client = aioredis.from_url(self._url)
            for name, source in (("gcra", _GCRA), ("acquire", _ACQUIRE), ("renew", _RENEW),
                                 ("count", _COUNT)):  # fmt: skip
                self._scripts[name] = self._client.register_script(source)
        return self._client

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        self._redis()
        try:
            return await self._scripts[name](keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise StorageError(f"Redis at {self._url.split('@')[-1]}: {exc}") from None

    async def take(self, key: str, rate: Rate, now: float, *, burst: int = 1) -> float:
        interval = rate.interval
        result = await self._run(
            "gcra", [self._prefix + key], [repr(interval), repr(interval * (max(burst, 1) - 1))]
        )
        return float(result)

    async def acquire_connection(
        self, key: str, limit: int, lease: str, now: float, ttl: float
    ) -> bool:
        return bool(await self._run("acquire", [self._prefix + key], [limit, lease, repr(ttl)]))

    async def renew_connection(self, key: str, lease: str, now: float, ttl: float) -> None:
        await self._run("renew", [self._prefix + key], [lease, repr(ttl)])

    async def release_connection(self, key: str, lease: str) -> None:
        try:
            await self._redis().zrem(self._prefix + key, lease)
        except (RedisError, OSError) as exc:
            raise StorageError(f"Redis: {exc}") from None

    async def connections(self, key: str, now: float) -> int:
        return int(await self._run("count", [self._prefix + key], []))

    async def publish_action(self, action: SharedAction, now: float) -> None:
        """Store the action under its scope until its ramp ends (Redis expires it then)."""
        key = f"{self._prefix}action:{action.scope}"
        field = f"{action.provider}|{action.action}|{action.pattern}"
        ttl_ms = max(1, int((action.ramp_end - now) * 1000))
        try:
            client = self._redis()
            await client.hset(key, field, json.dumps(dataclasses.asdict(action)))
            await client.pexpire(key, ttl_ms, gt=True)
            await client.pexpire(key, ttl_ms, nx=True)
        except (RedisError, OSError) as exc:
            raise StorageError(f"Redis: {exc}") from None

    async def fetch_actions(self, scopes: Sequence[str], now: float) -> list[SharedAction]:
        if not scopes:
            return []
        try:
            client = self._redis()
            async with client.pipeline(transaction=False) as pipe:
                for scope in scopes:
                    pipe.hvals(f"{self._prefix}action:{scope}")
                results = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise StorageError(f"Redis: {exc}") from None
        actions = [SharedAction(**json.loads(raw)) for values in results for raw in values]
        return [a for a in actions if a.ramp_end > now]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
