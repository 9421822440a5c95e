"""Ready queues: the messages a worker holds for one (source, site), and their pacing.

The scheduled queue (outbox rows in the database) feeds ready queues in memory. A ready
queue should only hold what it can send soon: when a site is throttled to 100 messages an
hour, holding 500 leased rows for it would starve every other destination of the worker's
capacity and keep leases alive for hours. :func:`overflow_schedule` says which items to
hand back to the scheduled queue, and when each should come back.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sendwell.delivery.automation import Shape
from sendwell.delivery.engine_state import SiteSnapshot
from sendwell.delivery.jobs import OutboxJob, PreparedMessage
from sendwell.delivery.mx import MxHost, MxRoute
from sendwell.delivery.shaping import Relay, SiteLimits, Source

# How far ahead a ready queue may hold work, in seconds of sending at its current rate.
HORIZON_SECONDS = 60.0


@dataclass
class Item:
    job: OutboxJob
    message: PreparedMessage


@dataclass
class ReadyQueue:
    source: Source
    route: MxRoute
    limits: SiteLimits
    items: deque[Item] = field(default_factory=deque)
    sessions: int = 0
    relays: tuple[Relay, ...] = ()  # set: deliver through these smarthosts, in this order
    sent: deque[float] = field(default_factory=deque)  # send times, last minute
    deferred: deque[float] = field(default_factory=deque)

    # Sessions with an open, idle connection waiting for more items (SessionSlots.linger).
    lingering: set[asyncio.Future[bool]] = field(default_factory=set)
    # Fixed for the queue's life (a worker files queues under their key); computed once,
    # since the session loop reads them for every message.
    key: str = field(init=False)
    site_scope: str = field(init=False)
    source_scope: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = f"{self.source.name}|{self.route.site}"
        self.site_scope = f"site:{self.key}"
        self.source_scope = f"source:{self.source.name}"

    def wake(self) -> None:
        """Items arrived: every session lingering on this queue looks again."""
        for waiter in self.lingering:
            if not waiter.done():
                waiter.set_result(True)

    def note(self, times: deque[float], now: float) -> None:
        times.append(now)
        _trim(times, now)

    def snapshot(
        self, *, worker: str, shape: Shape, actions: list[str], now: float, at: datetime
    ) -> SiteSnapshot | None:
        """This queue as ``sendwell delivery sites`` shows it; None when it is idle."""
        _trim(self.sent, now)
        _trim(self.deferred, now)
        if not (self.items or self.sessions or self.sent or self.deferred):
            return None
        rate = shape.max_message_rate
        return SiteSnapshot(
            worker=worker, source=self.source.name, site=self.route.site,
            provider=self.limits.provider, queued=len(self.items), sessions=self.sessions,
            sent_1m=len(self.sent), deferred_1m=len(self.deferred),
            rate_limit=rate.per_second if rate else None,
            connection_limit=shape.connection_limit, actions="; ".join(actions), updated_at=at,
        )  # fmt: skip


def _trim(times: deque[float], now: float) -> None:
    """Keep the last minute of timestamps."""
    while times and times[0] < now - 60:
        times.popleft()


def overflow_schedule(
    queued: int,
    *,
    rate_per_second: float | None,
    connections: int,
    horizon: float = HORIZON_SECONDS,
) -> list[float]:
    """Delays (seconds from now) for the items beyond what the queue can send soon.

    Returns one delay per overflowing item, in queue order: the first ``keep`` items stay,
    item ``keep + k`` comes back when, at ``rate``, its turn would come.
    """
    if rate_per_second is None:
        return []
    keep = max(connections, int(rate_per_second * horizon) + 1)
    if queued <= keep:
        return []
    return [(keep + k) / rate_per_second for k in range(queued - keep)]


def relay_route(relays: tuple[Relay, ...], now: datetime) -> MxRoute:
    """The route of a source that relays: its smarthosts, in failover order, for any domain."""
    return MxRoute(
        domain=f"relay:{relays[0].name}",
        hosts=tuple(MxHost(i, r.host, (r.host,)) for i, r in enumerate(relays)),
        implicit=False,
        expires_at=now + timedelta(days=365),
    )
