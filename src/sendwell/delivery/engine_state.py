"""Durable engine state: warm-up days per source and per-site snapshots for observability."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update

from sendwell.delivery.estimate import WarmupState
from sendwell.store.engine import insert_for
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
    """Count ``today`` as a sending day for ``sources`` (once per day); returns new counts.

    Several workers note the same day at the same moment (each of a machine's worker
    processes sends its first message within milliseconds of the others): a read then
    a write would let two of them insert the same source, or count a day twice. So the
    row is inserted unless it exists, and the day is added by one conditional UPDATE —
    only the first worker of the day matches ``last_day < today``.
    """
    result: dict[str, int] = {}
    with engine.begin() as conn:
        for source in sources:
            conn.execute(
                insert_for(conn)(source_warmup)
                .values(source=source, days_sent=0, last_day=today - timedelta(days=1))
                .on_conflict_do_nothing(index_elements=["source"])
            )
            conn.execute(
                update(source_warmup)
                .where(source_warmup.c.source == source, source_warmup.c.last_day < today)
                .values(days_sent=source_warmup.c.days_sent + 1, last_day=today)
            )
            result[source] = conn.execute(
                select(source_warmup.c.days_sent).where(source_warmup.c.source == source)
            ).scalar_one()
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
