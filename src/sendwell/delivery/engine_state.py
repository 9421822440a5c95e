"""Durable engine state: warm-up days per source and per-site snapshots for observability."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update

from sendwell.delivery.estimate import WarmupState
from sendwell.store.schema_delivery import delivery_sites, source_warmup


@dataclass(frozen=True)
class SiteSnapshot:
    """One worker's view of one ready queue, as ``sendwell delivery sites`` shows it."""

    worker: str
    source: str
    site: str
    provider: str
    queued: int
    sessions: int
    sent_1m: int
    deferred_1m: int
    rate_limit: float | None
    connection_limit: int
    actions: str
    updated_at: datetime


def warmup_days(engine: Engine) -> dict[str, int]:
    """How many distinct days each source has sent on."""
    with engine.connect() as conn:
        return {r.source: r.days_sent for r in conn.execute(select(source_warmup))}


def warmup_state(engine: Engine) -> dict[str, WarmupState]:
    """Each source's sending days so far and the last one (for the delivery estimate)."""
    with engine.connect() as conn:
        return {
            r.source: WarmupState(r.days_sent, r.last_day)
            for r in conn.execute(select(source_warmup))
        }


def note_sending_day(engine: Engine, sources: Iterable[str], today: date) -> dict[str, int]:
    """Count ``today`` as a sending day for ``sources`` (once per day); returns new counts."""
    result: dict[str, int] = {}
    with engine.begin() as conn:
        for source in sources:
            row = conn.execute(
                select(source_warmup).where(source_warmup.c.source == source)
            ).first()
            if row is None:
                conn.execute(
                    insert(source_warmup).values(source=source, days_sent=1, last_day=today)
                )
                result[source] = 1
            elif row.last_day < today:
                conn.execute(
                    update(source_warmup)
                    .where(source_warmup.c.source == source)
                    .values(days_sent=row.days_sent + 1, last_day=today)
                )
                result[source] = row.days_sent + 1
            else:
                result[source] = row.days_sent
    return result


def write_snapshots(engine: Engine, worker: str, snapshots: Sequence[SiteSnapshot]) -> None:
    """Replace this worker's snapshot rows."""
    with engine.begin() as conn:
        conn.execute(delete(delivery_sites).where(delivery_sites.c.worker == worker))
        if snapshots:
            conn.execute(insert(delivery_sites), [s.__dict__ for s in snapshots])


def read_snapshots(engine: Engine, now: datetime, max_age: float = 30.0) -> list[SiteSnapshot]:
    """Snapshots written within ``max_age`` seconds (older ones are from dead workers)."""
    since = now - timedelta(seconds=max_age)
    with engine.connect() as conn:
        rows = conn.execute(
            select(delivery_sites)
            .where(delivery_sites.c.updated_at >= since)
            .order_by(delivery_sites.c.site, delivery_sites.c.source)
        ).all()
    return [SiteSnapshot(**r._mapping) for r in rows]
