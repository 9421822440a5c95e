"""The scheduled queue: outbox rows leased in batches, outcomes written back in batches.

A worker *leases* due rows (status ``queued``/``deferred``, ``next_attempt_at`` reached,
campaign running, no live lease) by stamping its owner id and an expiry on them. A
worker that dies keeps its rows only until the lease expires; then any worker takes
them again. That is the whole crash-recovery story: a row becomes ``delivered`` only
after the server's 250 reply is written back, so a crash can at worst resend what was on
the wire at that instant, and never skip anyone.

On PostgreSQL the lease query uses ``FOR UPDATE SKIP LOCKED`` so any number of workers
share one queue without blocking each other. SQLite has one writer at a time, which
serializes leases by itself.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    Select,
    TextualSelect,
    and_,
    bindparam,
    func,
    insert,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Dialect

from sendwell.delivery.jobs import OutboxJob, Outcome
from sendwell.store.schema import campaigns, events, outbox
from sendwell.store.types import UtcDateTime

_FINAL = {"delivered", "bounced", "expired", "failed"}

# The same pick on SQLite, which would otherwise find the due rows through ix_outbox_due
# and sort them all for every lease. INDEXED BY makes it walk the partial index of pending
# rows in lease order and stop at the limit (and fails loudly should the index go). The
# status test is literal SQL because SQLite only uses a partial index whose condition the
# query states with the same constants, not with bound parameters.
_SQLITE_PICK = (
    text(
        "SELECT id FROM outbox INDEXED BY ix_outbox_pending "
        "WHERE status IN ('queued', 'deferred') AND next_attempt_at <= :now "
        "AND (lease_expires_at IS NULL OR lease_expires_at < :now) "
        "AND campaign_id IN (SELECT id FROM campaigns WHERE state = 'running') "
        "ORDER BY priority DESC, next_attempt_at, id LIMIT :limit"
    )
    .bindparams(bindparam("now", type_=UtcDateTime), bindparam("limit", type_=Integer))
    .columns(outbox.c.id)
)


class OutboxStore:
    """Lease, renew, release and record outbox rows for one database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    def _due(self, now: datetime):  # type: ignore[no-untyped-def]
        running = select(campaigns.c.id).where(campaigns.c.state == "running")
        return and_(
            outbox.c.status.in_(("queued", "deferred")),
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.lease_expires_at.is_(None), outbox.c.lease_expires_at < now),
            outbox.c.campaign_id.in_(running.scalar_subquery()),
        )

    def lease(
        self, owner: str, *, limit: int, lease_seconds: float, now: datetime
    ) -> list[OutboxJob]:
        """Take up to ``limit`` due rows for ``owner``, oldest due first."""
        if limit <= 0:
            return []
        pick: Select[tuple[int]] | TextualSelect
        if self._postgres:
            pick = (
                select(outbox.c.id)
                .where(self._due(now))
                .order_by(outbox.c.priority.desc(), outbox.c.next_attempt_at, outbox.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        else:
            pick = _SQLITE_PICK.bindparams(now=now, limit=limit)
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(pick.scalar_subquery()))
            .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds))
            .returning(
                outbox.c.id,
                outbox.c.campaign_id,
                outbox.c.subscriber_id,
                outbox.c.email,
                outbox.c.domain,
                outbox.c.attempts,
                outbox.c.first_attempt_at,
                outbox.c.next_attempt_at,
            )
        )
        with self._engine.begin() as conn:
            rows = sorted(conn.execute(stmt).all(), key=lambda r: (r.next_attempt_at, r.id))
        return [
            OutboxJob(
                id=r.id,
                campaign_id=r.campaign_id,
                subscriber_id=r.subscriber_id,
                email=r.email,
                domain=r.domain,
                attempts=r.attempts,
                first_attempt_at=r.first_attempt_at,
            )
            for r in rows
        ]

    def renew(self, owner: str, ids: Iterable[int], *, lease_seconds: float, now: datetime) -> None:
        """Extend the lease on rows this worker still holds (a long site backlog)."""
        id_list = list(ids)
        if not id_list:
            return
        with self._engine.begin() as conn:
            for chunk in _chunks(id_list, 900):
                conn.execute(
                    update(outbox)
                    .where(and_(outbox.c.id.in_(chunk), outbox.c.lease_owner == owner))
                    .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
                )

    def record(self, owner: str, outcomes: Sequence[Outcome]) -> None:
        """Write a batch of outcomes (and their events) in one transaction.

        Only rows still leased by ``owner`` are updated: if this worker stalled past its
        lease and another worker took a row over, the newer owner's result wins.
        """
        if not outcomes:
            return
        sql = self._record_sql
        when = sql.when
        rows: list[tuple[Any, ...]] = []  # values in _ATTEMPT_BINDS order
        logged: list[tuple[Any, ...]] = []  # values in _EVENT_COLUMNS order
        for o in outcomes:
            job = o.job
            at = when(o.at)
            first = job.first_attempt_at
            if o.kind == "released":
                # Handed back unattempted: due again now, or later when paced.
                rows.append(
                    (None, job.attempts, when(o.next_attempt_at), when(first),
                     None, None, None, at, None, job.id, owner)
                )  # fmt: skip
                continue
            done = at if o.kind in _FINAL else None
            rows.append(
                (o.kind, job.attempts + 1, when(o.next_attempt_at),
                 at if first is None else when(first),
                 o.mx_host, o.code, o.reply, at, done, job.id, owner)
            )  # fmt: skip
            logged.append(
                (at, o.kind, job.campaign_id, job.id, job.subscriber_id, o.code, o.reply or "")
            )
        with self._engine.begin() as conn:
            conn.exec_driver_sql(sql.attempt.text, sql.attempt.rows(rows))
            if logged:
                conn.exec_driver_sql(sql.event.text, sql.event.rows(logged))

    @functools.cached_property
    def _record_sql(self) -> _RecordSql:
        return _RecordSql(self._engine.dialect)

    def next_due_at(self, now: datetime) -> datetime | None:
        """When the earliest pending row of a running campaign becomes due."""
        running = select(campaigns.c.id).where(campaigns.c.state == "running")
        with self._engine.connect() as conn:
            return conn.execute(
                select(func.min(outbox.c.next_attempt_at)).where(
                    and_(
                        outbox.c.status.in_(("queued", "deferred")),
                        outbox.c.campaign_id.in_(running.scalar_subquery()),
                    )
                )
            ).scalar()

    @property
    def engine(self) -> Engine:
        return self._engine

    def running_campaigns(self) -> dict[int, str]:
        """Running campaigns and the source pool each sends from."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(campaigns.c.id, campaigns.c.pool).where(campaigns.c.state == "running")
            )
            return {r.id: r.pool for r in rows}


class _Compiled:
    """One statement compiled for a dialect, run straight through the driver.

    ``record`` writes a row and an event per delivery attempt, thousands a second; going
    through SQLAlchemy's ``executemany`` ran every value of every row through its
    parameter machinery, about two thirds of the write's cost. The statements are still
    built and compiled by SQLAlchemy, once; the caller gives rows as tuples in the order
    of ``names``, with values already converted.
    """

    def __init__(self, statement: Any, dialect: Dialect, names: tuple[str, ...]) -> None:
        compiled = statement.compile(dialect=dialect)
        self.text = compiled.string
        self._names = names
        order = compiled.positiontup  # bind names in order, for "?" and "%s" styles
        self._index = None if order is None else [names.index(n) for n in order]
        self._as_given = order is not None and tuple(order) == names

    def rows(self, rows: list[tuple[Any, ...]]) -> list[Any]:
        """The driver's parameter rows: tuples in the statement's order, or dicts for
        named styles (psycopg's ``%(name)s``)."""
        if self._as_given:
            return rows
        if self._index is None:
            names = self._names
            return [dict(zip(names, row, strict=True)) for row in rows]
        index = self._index
        return [tuple([row[i] for i in index]) for row in rows]


class _RecordSql:
    """The statements ``OutboxStore.record`` runs, and its datetime conversion."""

    def __init__(self, dialect: Dialect) -> None:
        owned = and_(outbox.c.id == bindparam("b_id"), outbox.c.lease_owner == bindparam("b_owner"))
        attempt = (
            update(outbox)
            .where(owned)
            .values(
                status=func.coalesce(bindparam("status"), outbox.c.status),
                attempts=bindparam("attempts"),
                next_attempt_at=func.coalesce(
                    bindparam("next_attempt_at"), outbox.c.next_attempt_at
                ),
                first_attempt_at=bindparam("first_attempt_at"),
                mx_host=func.coalesce(bindparam("mx_host"), outbox.c.mx_host),
                last_code=func.coalesce(bindparam("last_code"), outbox.c.last_code),
                last_reply=func.coalesce(bindparam("last_reply"), outbox.c.last_reply),
                updated_at=bindparam("updated_at"),
                done_at=bindparam("done_at"),
                lease_owner=null(),
                lease_expires_at=null(),
            )
        )
        self.attempt = _Compiled(attempt, dialect, _ATTEMPT_BINDS)
        self.event = _Compiled(
            insert(events).values({c: bindparam(c) for c in _EVENT_COLUMNS}).inline(),
            dialect,
            _EVENT_COLUMNS,
        )
        # The column type's own conversion (UTC, then the dialect's storage form: text
        # with six fraction digits on SQLite), so the values are stored exactly as
        # everywhere else. The dialect's implementation, not the generic type's, which
        # has no conversion and would leave datetimes to the driver.
        convert = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
        assert convert is not None

        def when(value: datetime | None) -> Any:
            return None if value is None else convert(value)

        self.when = when


# The order of the values in ``record``'s rows.
_ATTEMPT_BINDS = (
    "status", "attempts", "next_attempt_at", "first_attempt_at", "mx_host", "last_code",
    "last_reply", "updated_at", "done_at", "b_id", "b_owner",
)  # fmt: skip
_EVENT_COLUMNS = ("at", "kind", "campaign_id", "outbox_id", "subscriber_id", "code", "detail")


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
