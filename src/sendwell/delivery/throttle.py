"""Rate limits (GCRA) and connection caps, shared by the sessions of one worker.

GCRA — the generic cell rate algorithm — keeps one number per key, the *theoretical
arrival time* (TAT) of the next event. An event at ``now`` is allowed when
``TAT - burst_tolerance <= now``; the TAT then advances by one emission interval. Compared
with a token bucket it needs no refill timer and one read-modify-write per event, which is
also why the Redis backend (``throttle_redis``) can run it as one Lua script.

``burst`` is how many events may go back to back after an idle period. For mail the
default is small (1) — a provider that allows 100/h does not want 100 at once.

Connection caps are counted leases: ``acquire`` takes one of ``limit`` slots or fails.

The arithmetic is pure (time is an argument); :class:`LocalThrottles` holds the state for
one process. The Redis backend implements the same :class:`Throttles` protocol so that
any number of workers share limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sendwell.delivery.automation import SharedAction
from sendwell.delivery.rates import Rate


@dataclass(frozen=True, slots=True)
class Decision:
    """``wait`` is 0 when allowed; otherwise seconds until the event would be allowed."""

    allowed: bool
    wait: float
    new_tat: float


def gcra(tat: float | None, rate: Rate, now: float, *, burst: int = 1) -> Decision:
    """Decide one event under ``rate``; ``tat`` is the key's stored value (None if new)."""
    interval = rate.interval
    tolerance = interval * (max(burst, 1) - 1)
    current = now if tat is None else max(tat, now)
    allow_at = current - tolerance
    if allow_at > now:
        return Decision(False, allow_at - now, current)
    return Decision(True, 0.0, current + interval)


class Throttles(Protocol):
    """Shared limit state: message/connection rates and connection leases."""

    async def take(self, key: str, rate: Rate, now: float, *, burst: int = 1) -> float:
        """Take one event; returns 0 when taken, else seconds to wait (nothing taken)."""

    async def acquire_connection(
        self, key: str, limit: int, lease: str, now: float, ttl: float
    ) -> bool:
        """Take one of ``limit`` connection slots under ``lease``; False when all taken."""

    async def renew_connection(self, key: str, lease: str, now: float, ttl: float) -> None:
        """Keep a held slot alive for another ``ttl`` seconds."""

    async def release_connection(self, key: str, lease: str) -> None:
        """Give a slot back (a lease that is never released expires by itself)."""

    async def connections(self, key: str, now: float) -> int:
        """Slots currently held (for observability)."""

    async def publish_action(self, action: SharedAction, now: float) -> None:
        """Tell every worker about an automation action this one started."""

    async def fetch_actions(self, scopes: Sequence[str], now: float) -> list[SharedAction]:
        """Actions in force for ``scopes`` that any worker started."""


class LocalThrottles:
    """In-process state: enough when one worker sends (the SQLite default)."""

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}
        self._leases: dict[str, dict[str, float]] = {}

    async def take(self, key: str, rate: Rate, now: float, *, burst: int = 1) -> float:
        decision = gcra(self._tat.get(key), rate, now, burst=burst)
        if decision.allowed:
            self._tat[key] = decision.new_tat
        return decision.wait

    def _live(self, key: str, now: float) -> dict[str, float]:
        leases = self._leases.setdefault(key, {})
        for lease, expires in list(leases.items()):
            if expires <= now:
                del leases[lease]
        return leases

    async def acquire_connection(
        self, key: str, limit: int, lease: str, now: float, ttl: float
    ) -> bool:
        leases = self._live(key, now)
        if lease not in leases and len(leases) >= limit:
            return False
        leases[lease] = now + ttl
        return True

    async def renew_connection(self, key: str, lease: str, now: float, ttl: float) -> None:
        leases = self._live(key, now)
        leases[lease] = now + ttl

    async def release_connection(self, key: str, lease: str) -> None:
        self._leases.get(key, {}).pop(lease, None)

    async def connections(self, key: str, now: float) -> int:
        return len(self._live(key, now))

    async def publish_action(self, action: SharedAction, now: float) -> None:
        """One process: its own board already holds the action."""

    async def fetch_actions(self, scopes: Sequence[str], now: float) -> list[SharedAction]:
        return []
