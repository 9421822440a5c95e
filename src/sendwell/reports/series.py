"""Time series of a campaign's events, per hour or per day (UTC).

Buckets run from the first to the last event with no gaps, so charts show quiet hours as
zero rather than joining distant points.

Limit: events are read and bucketed in Python (portable between SQLite and PostgreSQL);
a campaign with millions of events takes seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, and_, select

from sendwell.store.schema import events

Step = Literal["hour", "day"]
SERIES_KINDS = (
    "delivered",
    "deferred",
    "bounced",
    "complaint",
    "open",
    "open_machine",
    "click",
    "click_machine",
    "unsubscribe",
)


@dataclass(frozen=True)
class Bucket:
    start: datetime
    counts: dict[str, int] = field(default_factory=dict)


def _floor(at: datetime, step: Step) -> datetime:
    at = at.astimezone(UTC)
    if step == "day":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    return at.replace(minute=0, second=0, microsecond=0)


def bucketize(points: Iterable[tuple[datetime, str]], step: Step) -> list[Bucket]:
    """Count ``(at, kind)`` points per bucket, gaps filled with empty buckets (pure)."""
    counts: dict[datetime, Counter[str]] = {}
    for at, kind in points:
        counts.setdefault(_floor(at, step), Counter())[kind] += 1
    if not counts:
        return []
    delta = timedelta(days=1) if step == "day" else timedelta(hours=1)
    out = []
    t, end = min(counts), max(counts)
    while t <= end:
        out.append(Bucket(t, dict(counts.get(t, Counter()))))
        t += delta
    return out


def time_series(conn: Connection, campaign_id: int, step: Step = "hour") -> list[Bucket]:
    rows = conn.execute(
        select(events.c.at, events.c.kind).where(
            and_(events.c.campaign_id == campaign_id, events.c.kind.in_(SERIES_KINDS))
        )
    )
    return bucketize(((r.at, r.kind) for r in rows), step)
