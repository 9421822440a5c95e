"""The event buffer: durable batches, classification against the delivery, bursts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import Engine, select

from sendwell.clock import FrozenClock
from sendwell.errors import StorageError
from sendwell.store.schema import events
from sendwell.tracking.buffer import EventBuffer, TrackedHit
from sendwell.tracking.classify import Hit
from tests.tracking.helpers import seed

UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"


def _events(engine: Engine) -> list[tuple[str, int | None, int | None, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.kind, events.c.outbox_id, events.c.code, events.c.detail)
            .where(events.c.kind.like("open%") | events.c.kind.like("click%"))
            .order_by(events.c.id)
        ).all()
    return [tuple(r) for r in rows]


def test_hits_are_committed_before_record_returns(engine: Engine, clock: FrozenClock) -> None:
    s = seed(engine, clock.now(), people=3)
    buffer = EventBuffer(engine, max_batch=50)

    async def main() -> None:
        hits = [
            TrackedHit(Hit("open", clock.now(), "GET", UA, "203.0.113.1"), s.outbox_ids[i % 3])
            for i in range(120)
        ]
        await asyncio.gather(*(buffer.record(h) for h in hits))
        assert len(_events(engine)) == 120  # acknowledged means written
        await buffer.close()

    asyncio.run(main())
    assert buffer.written == 120
    with engine.connect() as conn:
        subs = set(
            conn.execute(select(events.c.subscriber_id).where(events.c.kind == "open")).scalars()
        )
    assert len(subs) == 3 and None not in subs


def test_clicks_right_after_delivery_and_bursts_are_machine(
    engine: Engine, clock: FrozenClock
) -> None:
    s = seed(engine, clock.now(), people=2, delivered_ago=3.0)
    buffer = EventBuffer(engine)
    now = clock.now()
    a, b = s.outbox_ids
    buffer.write([TrackedHit(Hit("click", now, "GET", UA, "203.0.113.1"), a, s.campaign_id, 0)])
    later = now + timedelta(hours=1)
    # A human reads b's message later, clicks one link, then (separate batch) a scanner
    # sweeps every link within a second.
    buffer.write([TrackedHit(Hit("click", later, "GET", UA, "203.0.113.2"), b, s.campaign_id, 0)])
    sweep = later + timedelta(minutes=5)
    buffer.write([TrackedHit(Hit("click", sweep, "GET", UA, "198.51.100.7"), b, s.campaign_id, 1)])
    buffer.write(
        [
            TrackedHit(
                Hit("click", sweep + timedelta(milliseconds=300 * i), "GET", UA, "198.51.100.7"),
                b,
                s.campaign_id,
                link,
            )
            for i, link in enumerate((0, 2), start=1)
        ]
    )
    assert _events(engine) == [
        ("click_machine", a, 0, "too_soon"),
        ("click", b, 0, ""),
        ("click_machine", b, 1, "burst"),
        ("click_machine", b, 0, "burst"),
        ("click_machine", b, 2, "burst"),
    ]


def test_a_failed_commit_fails_the_waiting_requests(engine: Engine, clock: FrozenClock) -> None:
    broken = EventBuffer(engine, max_batch=10)

    async def main() -> list[BaseException | None]:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "DROP TABLE events"
                if engine.dialect.name == "sqlite"
                else "DROP TABLE events CASCADE"
            )
        hit = TrackedHit(Hit("open", clock.now(), "GET", UA, "203.0.113.1"), 1)
        results = await asyncio.gather(
            broken.record(hit), broken.record(hit), return_exceptions=True
        )
        await broken.close()
        return results  # type: ignore[return-value]

    results = asyncio.run(main())
    assert all(isinstance(r, StorageError) for r in results)
