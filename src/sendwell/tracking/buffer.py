"""The event buffer: opens and clicks written in batches, acknowledged only after commit.

Request handlers call ``await buffer.record(hit)``; it returns once the batch holding the
hit is committed, so an HTTP answer means the event is durable (as durable as the database
makes a commit: SQLite WAL with ``synchronous=NORMAL`` survives a process crash, not a
power loss). One flusher task takes everything queued (up to ``max_batch``), writes it in
one transaction on a worker thread and wakes the waiting handlers; while it writes, the
next batch gathers — group commit, so throughput grows with load while a lone hit still
commits at once.

At write time each hit is joined with its outbox row (subscriber, delivery time) in one
query per batch and classified (``tracking.classify``). Event kinds: ``open``/``click``
(human) and ``open_machine``/``click_machine`` (``detail`` holds the reason: apple_mpp,
image_proxy, agent, head, network, too_soon, burst); for clicks ``code`` holds the link
number. When a burst (several links within a moment) is found, the recipient's earlier
clicks in that moment are re-marked ``click_machine``/``burst``.

Limits: bursts are seen within one process (recent clicks are remembered in memory for
``burst_window_s``); with several web processes a burst split across them may be missed.
A failed commit fails every waiting request of that batch (they answer 503 and the
client may retry); nothing is acknowledged that was not written.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, select, update
from sqlalchemy.exc import SQLAlchemyError

from sendwell.audience.bulk import bind_processor, ids_condition, insert_many
from sendwell.errors import StorageError
from sendwell.store.schema import events, outbox
from sendwell.tracking.classify import Hit, Rules, burst_reasons, classify


@dataclass(frozen=True)
class TrackedHit:
    """One open or click, with what its token named."""

    hit: Hit
    outbox_id: int
    campaign_id: int | None = None
    link: int | None = None


@dataclass
class _Event:
    """One ``events`` row as written."""

    at: datetime
    kind: str
    campaign_id: int | None
    outbox_id: int
    subscriber_id: int | None
    code: int | None
    detail: str

    def row(self, at: Callable[[datetime], object] | None) -> tuple[object, ...]:
        """The driver's values in ``_EVENT_COLUMNS`` order (``at``: the time's processor)."""
        return (
            at(self.at) if at is not None else self.at,
            self.kind,
            self.campaign_id,
            self.outbox_id,
            self.subscriber_id,
            self.code,
            self.detail,
        )


_EVENT_COLUMNS = ("at", "kind", "campaign_id", "outbox_id", "subscriber_id", "code", "detail")


class EventBuffer:
    """Batches hits into transactions; ``record`` resolves after commit."""

    def __init__(self, engine: Engine, rules: Rules | None = None, *, max_batch: int = 1000):
        self._engine = engine
        self._rules = rules or Rules()
        self._max_batch = max_batch
        self._queue: list[tuple[TrackedHit, asyncio.Future[None]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._recent: dict[int, list[tuple[datetime, int]]] = {}
        self._pruned_at: datetime | None = None
        self.written = 0

    async def record(self, hit: TrackedHit) -> None:
        """Queue ``hit``; return once it is committed (raises StorageError if it was not)."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._flusher())
        future: asyncio.Future[None] = loop.create_future()
        self._queue.append((hit, future))
        assert self._wake is not None
        self._wake.set()
        await future

    async def _flusher(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                try:
                    # On a thread: the database driver releases the GIL while it waits
                    # (fsync, network), so a slow commit does not stall the event loop.
                    await asyncio.to_thread(self.write, [h for h, _ in batch])
                except Exception as exc:  # every waiter learns its hit was not stored
                    error = exc if isinstance(exc, StorageError) else StorageError(str(exc))
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)

    async def close(self) -> None:
        """Stop the flusher after the queue drained (server shutdown)."""
        while self._queue:
            await asyncio.sleep(0)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def write(self, hits: Sequence[TrackedHit]) -> None:
        """Classify and insert ``hits`` in one transaction (synchronous; also for tests)."""
        if not hits:
            return
        try:
            with self._engine.begin() as conn:
                # This runs on a thread but holds the GIL while in Python, so every
                # microsecond here is one the event loop answering requests does not get:
                # one bound parameter for all ids, and driver tuples for the insert.
                found = conn.execute(
                    select(
                        outbox.c.id,
                        outbox.c.campaign_id,
                        outbox.c.subscriber_id,
                        outbox.c.status,
                        outbox.c.done_at,
                    ).where(ids_condition(conn, outbox.c.id, sorted({h.outbox_id for h in hits})))
                )
                rows = {r[0]: r for r in found}
                values: list[_Event] = []
                for h in hits:
                    row = rows.get(h.outbox_id)
                    delivered = row[4] if row is not None and row[3] == "delivered" else None
                    hit = Hit(
                        h.hit.kind, h.hit.at, h.hit.method, h.hit.user_agent, h.hit.ip, delivered
                    )
                    reason = classify(hit, self._rules)
                    values.append(
                        _Event(
                            at=h.hit.at,
                            kind=h.hit.kind if reason is None else f"{h.hit.kind}_machine",
                            campaign_id=row[1] if row is not None else h.campaign_id,
                            outbox_id=h.outbox_id,
                            subscriber_id=row[2] if row is not None else None,
                            code=h.link,
                            detail=reason or "",
                        )
                    )
                burst_from = self._bursts(values)
                at = bind_processor(conn, events, "at")
                insert_many(conn, events, _EVENT_COLUMNS, [v.row(at) for v in values])
                for outbox_id, since in burst_from.items():
                    conn.execute(
                        update(events)
                        .where(
                            and_(
                                events.c.outbox_id == outbox_id,
                                events.c.kind == "click",
                                events.c.at >= since,
                            )
                        )
                        .values(kind="click_machine", detail="burst")
                    )
        except SQLAlchemyError as exc:
            raise StorageError(f"tracking events not stored: {exc}") from exc
        self.written += len(hits)

    def _bursts(self, values: list[_Event]) -> dict[int, datetime]:
        """Mark burst clicks in ``values``; returns outbox id → start of each burst, so the
        clicks of that burst written by earlier batches can be re-marked too."""
        clicks: dict[int, list[_Event]] = {}
        for v in values:
            if v.code is not None:
                clicks.setdefault(v.outbox_id, []).append(v)
        starts: dict[int, datetime] = {}
        window = timedelta(seconds=self._rules.burst_window_s)
        for outbox_id, new in clicks.items():
            first = min(v.at for v in new)
            past = [c for c in self._recent.get(outbox_id, []) if first - c[0] <= window]
            merged = sorted(past + [(v.at, v.code or 0) for v in new])
            flags = burst_reasons(merged, self._rules)
            flagged = [at for (at, _), f in zip(merged, flags, strict=True) if f]
            if flagged:
                starts[outbox_id] = min(flagged)
                for v in new:
                    if v.kind == "click" and v.at >= starts[outbox_id]:
                        v.kind, v.detail = "click_machine", "burst"
            self._recent[outbox_id] = merged
        # Forget clicks older than the burst window, at most once per window (a full scan
        # per batch showed up in profiles).
        if values:
            newest = max(v.at for v in values)
            if self._pruned_at is None or newest - self._pruned_at > window:
                horizon = newest - window
                for outbox_id in list(self._recent):
                    if self._recent[outbox_id][-1][0] < horizon:
                        del self._recent[outbox_id]
                self._pruned_at = newest
        return starts
