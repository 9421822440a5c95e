"""The outbox store's write of outcomes, on SQLite and PostgreSQL: what each kind leaves in
the row and the events, stored exactly as SQLAlchemy stores the same values elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine, select, update

from sendwell.clock import FrozenClock
from sendwell.delivery.jobs import OutboxJob, Outcome
from sendwell.delivery.outbox import OutboxStore
from sendwell.store.schema import events, outbox
from tests.feedback.helpers import make_campaign


def _queue(engine: Engine, clock: FrozenClock, emails: list[str]) -> int:
    return make_campaign(engine, emails, clock.now(), delivered=False).campaign_id


def _one_leased(engine: Engine, clock: FrozenClock) -> tuple[OutboxStore, OutboxJob]:
    """A store and the one row of a one-recipient campaign, leased by "w1"."""
    _queue(engine, clock, ["a@example.com"])
    store = OutboxStore(engine)
    (job,) = store.lease("w1", limit=1, lease_seconds=60, now=clock.now())
    return store, job


def test_outcomes_update_their_rows_and_add_events(engine: Engine, clock: FrozenClock) -> None:
    emails = ["a@example.com", "b@example.com", "c@example.com", "d@example.com"]
    campaign_id = _queue(engine, clock, emails)
    store = OutboxStore(engine)
    jobs = {j.email: j for j in store.lease("w1", limit=10, lease_seconds=60, now=clock.now())}
    assert sorted(jobs) == emails
    clock.advance(2)
    at = clock.now()
    # A whole second: SQLite stores datetimes as text, and the driver's own conversion
    # would drop the ".000000" that SQLAlchemy writes and compares with.
    assert at.microsecond == 0
    retry = at + timedelta(minutes=5)
    later = at + timedelta(seconds=30)
    mx = "mx.example.com"
    store.record(
        "w1",
        [
            Outcome(jobs["a@example.com"], "delivered", at, 250, "250 ok", mx),
            Outcome(
                jobs["b@example.com"], "deferred", at, 451, "451 later", "mx.example.com", retry
            ),
            Outcome(jobs["c@example.com"], "bounced", at, 550, "550 no such user"),
            Outcome(jobs["d@example.com"], "released", at, next_attempt_at=later),
        ],
    )
    with engine.connect() as conn:
        rows = {r.email: r for r in conn.execute(select(outbox))}
        logged = conn.execute(
            select(events.c.kind, events.c.outbox_id, events.c.code, events.c.detail, events.c.at)
            .where(events.c.campaign_id == campaign_id)
            .order_by(events.c.outbox_id)
        ).all()
        # The same instants compare equal in SQL with values bound by SQLAlchemy, so the
        # raw write stored them in the column type's own form.
        same = conn.execute(
            select(outbox.c.email).where(outbox.c.updated_at == at).order_by(outbox.c.email)
        ).scalars()
        assert list(same) == emails
    a, b, c, d = (rows[e] for e in emails)
    assert (a.status, a.attempts, a.last_code, a.mx_host) == ("delivered", 1, 250, "mx.example.com")
    assert a.done_at == at and a.first_attempt_at == at and a.lease_owner is None
    assert (b.status, b.attempts, b.next_attempt_at, b.done_at) == ("deferred", 1, retry, None)
    assert (c.status, c.last_reply, c.done_at) == ("bounced", "550 no such user", at)
    # Handed back unattempted: still queued, no attempt counted, due again at `later`.
    assert (d.status, d.attempts, d.first_attempt_at, d.next_attempt_at) == (
        "queued",
        0,
        None,
        later,
    )
    assert d.lease_owner is None and d.lease_expires_at is None
    assert [(k, code, detail) for k, _, code, detail, _ in logged] == [
        ("delivered", 250, "250 ok"),
        ("deferred", 451, "451 later"),
        ("bounced", 550, "550 no such user"),
    ]
    assert {when for *_, when in logged} == {at}


def test_a_row_taken_over_by_another_worker_keeps_the_newer_result(
    engine: Engine, clock: FrozenClock
) -> None:
    store, job = _one_leased(engine, clock)
    with engine.begin() as conn:  # w1 stalled past its lease; w2 took the row
        conn.execute(update(outbox).values(lease_owner="w2"))
    store.record("w1", [Outcome(job, "delivered", clock.now(), 250, "250 ok")])
    with engine.connect() as conn:
        row = conn.execute(select(outbox.c.status, outbox.c.lease_owner)).one()
        assert tuple(row) == ("queued", "w2")
        # The event of what w1 saw is kept: it did happen.
        assert conn.execute(select(events.c.kind)).scalars().all() == ["delivered"]


def test_times_are_stored_in_utc_whatever_zone_they_come_in(
    engine: Engine, clock: FrozenClock
) -> None:
    store, job = _one_leased(engine, clock)
    plus_two = datetime(2026, 12, 5, 16, 0, tzinfo=timezone(timedelta(hours=2)))
    store.record("w1", [Outcome(job, "released", plus_two, next_attempt_at=plus_two)])
    with engine.connect() as conn:
        due = conn.execute(select(outbox.c.next_attempt_at)).scalar_one()
    assert due == datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
