"""The delivery worker: leases outbox rows and delivers them, paced per (source, site).

Flow inside one worker process (one asyncio event loop)::

    scheduled queue (outbox rows) ──lease──► build messages (thread) ──► resolve MX (cached)
        ▲                                                                    │
        │ overflow / suspension: rows handed back with a later next_attempt_at ▼
        └──────────────────────────────────── ready queue per (source, site)
                                               │ sessions ≤ connection limit (leases)
                                               │ messages ≤ site rate and source rate (GCRA)
                                               ▼
                              SMTP send (one rcpt / transaction, sessions reused)
                                               │ reply
                   automation rules ◄──────────┤
                                               ▼
                        outcome buffer ──every 0.1 s or 200──► outbox rows + events

Sources come from the campaign's pool in the shaping file (weighted choice); limits are the
shaping file's, layered default ← provider ← source override ← warm-up day, then narrowed
by active automation actions. Throttle and connection state lives in a
:class:`~sendwell.delivery.throttle.Throttles` — in process by default, in Redis when
several workers share the limits.

Outcomes: a 2xx after DATA → ``delivered``; a 5xx → ``bounced`` (never retried); a 4xx, a
dropped connection or a timeout → ``deferred`` with the next attempt from
:mod:`sendwell.delivery.retry`, or ``expired`` past the maximum age. A row is marked
delivered only after the 250 reply, and only by the worker still holding its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sendwell.clock import Clock
from sendwell.delivery import engine_state
from sendwell.delivery.automation import ActionBoard, Shape, SharedAction
from sendwell.delivery.connect import open_session
from sendwell.delivery.jobs import BuildFailure, MessageBuilder, OutboxJob, Outcome
from sendwell.delivery.mx import MxResolver, MxRoute
from sendwell.delivery.outbox import OutboxStore
from sendwell.delivery.outcomes import failure_outcome
from sendwell.delivery.ready import Item, ReadyQueue, overflow_schedule, relay_route
from sendwell.delivery.retry import RetryPolicy
from sendwell.delivery.shaping import Relay, Shaping, Source
from sendwell.delivery.slots import SessionSlots
from sendwell.delivery.smtp import SmtpConnection
from sendwell.delivery.throttle import LocalThrottles, Throttles
from sendwell.errors import DeliveryError, PermanentFailure

log = logging.getLogger("sendwell.delivery")
attempt_log = logging.getLogger("sendwell.delivery.attempt")

FLUSH_EVERY = 200
FLUSH_SECONDS = 0.1
SHUTDOWN_GRACE_SECONDS = 2.0
SNAPSHOT_SECONDS = 2.0
WARMUP_REFRESH_SECONDS = 60.0
# A session waits inline for a throttle up to this long; longer waits hand the queue back
# to the scheduled queue instead of holding rows and a connection idle.
MAX_INLINE_WAIT = 2.0
SLOT_RETRY_SECONDS = 0.25
# A session whose queue ran dry keeps its connection this long for the next lease's
# messages (delivery.slots). Servers allow minutes idle.
CONNECTION_LINGER_SECONDS = 2.0
ACTION_SYNC_SECONDS = 1.0


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs to know, taken from settings by the composition root."""

    smtp_port: int = 25
    helo_name: str = "localhost"
    batch_size: int = 500
    concurrency: int = 100
    lease_seconds: float = 300.0
    smtp_timeout: float = 30.0
    poll_seconds: float = 1.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    owner: str = field(default_factory=lambda: f"w-{uuid.uuid4().hex[:12]}")


class Worker:
    """One delivery worker. Use :meth:`run` (until stopped) or :meth:`drain` (until idle)."""

    def __init__(
        self,
        config: WorkerConfig,
        *,
        store: OutboxStore,
        builder: MessageBuilder,
        resolver: MxResolver,
        clock: Clock,
        shaping: Shaping,
        throttles: Throttles | None = None,
        board: ActionBoard | None = None,
        timer: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        after_record: Callable[[Sequence[Outcome]], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.shaping = shaping
        self.board = board or ActionBoard()
        self._store = store
        self._builder = builder
        self._resolver = resolver
        self._clock = clock
        # Throttles and automation run on ``timer`` (seconds) and wait with ``sleep``; both
        # are injected so tests can run minutes of pacing in milliseconds.
        self._timer = timer
        self._sleep = sleep
        self._throttles: Throttles = throttles or LocalThrottles()
        self._after_record = after_record
        self._rng = rng or random.Random()
        self._pending: dict[int, OutboxJob] = {}
        self._ready: dict[str, ReadyQueue] = {}
        self._outcomes: list[Outcome] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._campaigns: dict[int, str] = {}  # running campaign id -> pool
        self._warmup: dict[str, int] = {}
        self._sent_sources: set[str] = set()
        self._slots = SessionSlots(config.concurrency)
        self._progress = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self.delivered = 0
        self.attempts = 0

    # -- public entry points ------------------------------------------------------------

    async def drain(self) -> None:
        """Deliver everything due now, then return (rows deferred to later stay queued)."""
        await self._loop(stop=None, until_idle=True, until=None)

    async def run(
        self, *, stop: asyncio.Event | None = None, until: Callable[[], bool] | None = None
    ) -> None:
        """Work until ``stop`` is set or ``until()`` is true, waiting for deferred rows."""
        await self._loop(stop=stop, until_idle=False, until=until)

    # -- main loop ----------------------------------------------------------------------

    async def _loop(
        self, *, stop: asyncio.Event | None, until_idle: bool, until: Callable[[], bool] | None
    ) -> None:
        cfg = self.config
        self._slots = SessionSlots(cfg.concurrency)
        self._progress = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        engine = self._store.engine
        self._warmup = await asyncio.to_thread(engine_state.warmup_days, engine)
        last_renew = last_snapshot = last_warmup = last_sync = self._timer()
        try:
            while not (stop is not None and stop.is_set()):
                self._campaigns = await asyncio.to_thread(self._store.running_campaigns)
                # None: no lease was tried this round (plenty in hand) — which says nothing
                # about whether the queue is empty.
                leased: int | None = None
                if len(self._pending) <= cfg.batch_size // 2:
                    leased = await self._lease_and_dispatch(cfg.batch_size - len(self._pending))
                await self._flush()
                now = self._timer()
                if now - last_snapshot >= SNAPSHOT_SECONDS:
                    await self._snapshot()
                    last_snapshot = now
                if now - last_sync >= ACTION_SYNC_SECONDS:
                    await self._sync_actions()
                    last_sync = now
                if now - last_warmup >= WARMUP_REFRESH_SECONDS:
                    self._warmup = await asyncio.to_thread(engine_state.warmup_days, engine)
                    last_warmup = now
                if leased is None and not self._pending:
                    continue  # work in hand ran out meanwhile: lease again at once
                if leased == 0 and not self._pending:
                    if until_idle:
                        return
                    if until is not None and await asyncio.to_thread(until):
                        return
                    await self._idle_wait(stop)
                    continue
                self._progress.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._progress.wait(), FLUSH_SECONDS)
                if now - last_renew > cfg.lease_seconds / 3:
                    await asyncio.to_thread(
                        self._store.renew,
                        cfg.owner,
                        list(self._pending),
                        lease_seconds=cfg.lease_seconds,
                        now=self._clock.now(),
                    )
                    last_renew = now
        finally:
            await self._shutdown()

    async def _sync_actions(self) -> None:
        """Adopt automation actions other workers started for the sites this one serves."""
        scopes: dict[str, ReadyQueue] = {}
        for ready in self._ready.values():
            scopes[ready.site_scope] = ready
            scopes[ready.source_scope] = ready
        now = self._timer()
        for shared in await self._throttles.fetch_actions(sorted(scopes), now):
            ready = scopes[shared.scope]
            if self.board.adopt(shared, ready.limits.automation, now):
                log.warning("automation (from another worker): %s on %s", shared.action, ready.key)

    async def _idle_wait(self, stop: asyncio.Event | None) -> None:
        """Sleep until the next deferred row is due, a poll interval, or a stop request."""
        now = self._clock.now()
        due = await asyncio.to_thread(self._store.next_due_at, now)
        delay = self.config.poll_seconds
        if due is not None:
            delay = min(delay, max(0.0, (due - now).total_seconds()))
        if stop is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)

    async def _lease_and_dispatch(self, limit: int) -> int:
        cfg = self.config
        jobs = await asyncio.to_thread(
            self._store.lease,
            cfg.owner,
            limit=limit,
            lease_seconds=cfg.lease_seconds,
            now=self._clock.now(),
        )
        if not jobs:
            return 0
        for job in jobs:
            self._pending[job.id] = job
        built = await asyncio.to_thread(self._builder.build, jobs)
        groups: dict[tuple[str, str], tuple[Source, list[Item]]] = {}
        for job, message in zip(jobs, built, strict=True):
            if isinstance(message, BuildFailure):
                self._finish(
                    Outcome(job=job, kind="failed", at=self._clock.now(), reply=message.reason)
                )
                continue
            source = self.shaping.choose(self._campaigns.get(job.campaign_id, "default"), self._rng)
            group = groups.setdefault((job.domain, source.name), (source, []))
            group[1].append(Item(job, message))
        for (domain, _), (source, items) in groups.items():
            if source.relays:
                self._spawn(self._relay_route(source, items))
            else:
                self._spawn(self._route(domain, source, items))
        return len(jobs)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def _route(self, domain: str, source: Source, items: list[Item]) -> None:
        try:
            route = await self._resolver.resolve(domain)
        except DeliveryError as exc:
            for item in items:
                self._fail(item.job, exc, mx_host=None, ready=None)
            return
        ready = self._ready_queue(source, route)
        ready.items.extend(items)
        ready.wake()
        self._pace(ready)

    async def _relay_route(self, source: Source, items: list[Item]) -> None:
        """A source that relays: every message goes to its smarthosts, whatever the domain."""
        relays = tuple(self.shaping.relays[name] for name in source.relays)
        route = relay_route(relays, self._clock.now())
        key = f"{source.name}|{route.site}"
        ready = self._ready.get(key)
        if ready is None:
            ready = self._ready[key] = ReadyQueue(
                source=source,
                route=route,
                limits=self.shaping.relay_limits(source),
                relays=relays,
            )
        ready.items.extend(items)
        ready.wake()
        self._pace(ready)

    def _ready_queue(self, source: Source, route: MxRoute) -> ReadyQueue:
        key = f"{source.name}|{route.site}"
        ready = self._ready.get(key)
        hosts = [h.name for h in route.hosts]
        limits = self.shaping.site_limits(hosts, source, self._warmup.get(source.name))
        if ready is None:
            ready = self._ready[key] = ReadyQueue(source=source, route=route, limits=limits)
        ready.route = route
        ready.limits = limits
        return ready

    def _shape(self, ready: ReadyQueue) -> Shape:
        return self.board.shape(
            site_scope=ready.site_scope,
            source_scope=ready.source_scope,
            base=ready.limits.limits,
            now=self._timer(),
        )

    def _pace(self, ready: ReadyQueue) -> None:
        """Hand back what the queue cannot send soon; start sessions for the rest."""
        now = self._timer()
        shape = self._shape(ready)
        if shape.suspended(now):
            assert shape.suspended_until is not None
            self._hand_back(ready, [shape.suspended_until - now] * len(ready.items))
            return
        rates = [r.per_second for r in (shape.max_message_rate, ready.limits.source_rate) if r]
        delays = overflow_schedule(
            len(ready.items),
            rate_per_second=min(rates, default=None),
            connections=shape.connection_limit,
        )
        if delays:
            self._hand_back(ready, delays, from_end=True)
        want = min(len(ready.items), shape.connection_limit) - ready.sessions
        for _ in range(max(0, want)):
            ready.sessions += 1
            self._spawn(self._session(ready))

    def _hand_back(self, ready: ReadyQueue, delays: list[float], *, from_end: bool = False) -> None:
        """Return items to the scheduled queue, each due after its delay."""
        now = self._clock.now()
        count = len(delays)
        if from_end:
            taken = [ready.items.pop() for _ in range(count)][::-1]
        else:
            taken = [ready.items.popleft() for _ in range(count)]
        for item, delay in zip(taken, delays, strict=True):
            self._finish(
                Outcome(
                    job=item.job,
                    kind="released",
                    at=now,
                    next_attempt_at=now + timedelta(seconds=delay),
                )
            )

    # -- one SMTP session ---------------------------------------------------------------

    async def _session(self, ready: ReadyQueue) -> None:
        lease = uuid.uuid4().hex
        conn_key = f"conn:{ready.key}"
        conn: SmtpConnection | None = None
        host = ""
        relay: Relay | None = None
        holding = False
        ttl = self.config.smtp_timeout * 4
        renewed = 0.0
        try:
            await self._slots.acquire()
            while True:
                if not ready.items:
                    if conn is None or not await self._slots.linger(
                        ready, CONNECTION_LINGER_SECONDS
                    ):
                        break
                    if not conn.is_usable:  # the server hung up meanwhile
                        await conn.close()
                        conn = None
                    continue
                now = self._timer()
                shape = self._shape(ready)
                if shape.suspended(now):
                    assert shape.suspended_until is not None
                    self._hand_back(ready, [shape.suspended_until - now] * len(ready.items))
                    break
                if ready.sessions > shape.connection_limit and ready.items:
                    break  # automation cut the connection limit: this session steps aside
                if conn is None:
                    holding = await self._throttles.acquire_connection(
                        conn_key, shape.connection_limit, lease, now, ttl=ttl
                    )
                    renewed = now
                    if not holding:
                        if ready.sessions > 1:
                            break  # this worker's other sessions carry on
                        # Every slot is held elsewhere (other workers): wait for one rather
                        # than spinning up new sessions that would fail the same way.
                        await self._sleep(SLOT_RETRY_SECONDS)
                        continue
                    wait = await self._take(
                        f"connrate:{ready.key}", ready.limits.limits.max_connection_rate, now
                    )
                    if wait > 0:
                        if not await self._wait_or_hand_back(ready, wait):
                            break
                        continue
                    try:
                        conn, host, relay = await self._connect(ready)
                    except DeliveryError as exc:
                        if ready.sessions == 1:
                            # Nobody else is getting through to this site: defer its backlog.
                            while ready.items:
                                self._fail(
                                    ready.items.popleft().job, exc, mx_host=None, ready=ready
                                )
                        break
                    # Connecting can take seconds (TLS, a slow greeting). Rates taken with
                    # the time from before it would read that delay as a wait, and a wait
                    # over MAX_INLINE_WAIT hands the whole queue back.
                    now = self._timer()
                if relay is not None and relay.limits.max_message_rate is not None:
                    # A relay's quota belongs to the relay (an ESP account), whoever sends.
                    wait = await self._take(
                        f"relay:{relay.name}", relay.limits.max_message_rate, now
                    )
                else:
                    wait = await self._take(f"msg:{ready.key}", shape.max_message_rate, now)
                if wait == 0:
                    wait = await self._take(
                        f"src:{ready.source.name}", ready.limits.source_rate, now
                    )
                if wait > 0:
                    if not await self._wait_or_hand_back(ready, wait):
                        break
                    continue
                item = ready.items.popleft()
                if item.job.campaign_id not in self._campaigns:
                    self._finish(Outcome(job=item.job, kind="released", at=self._clock.now()))
                    continue
                await self._send(ready, conn, host, item)
                if not conn.is_usable or (
                    conn.messages_sent >= (ready.limits.limits.max_deliveries_per_connection or 1)
                ):
                    await conn.close()
                    conn = None
                elif (now := self._timer()) - renewed > ttl / 3:
                    # Not after every message: with Redis each renewal is a round trip.
                    await self._throttles.renew_connection(conn_key, lease, now, ttl=ttl)
                    renewed = now
        finally:
            ready.sessions -= 1
            if conn is not None:
                await conn.close()
            if holding:
                await self._throttles.release_connection(conn_key, lease)
            await self._slots.release()
            if ready.items and ready.sessions == 0:
                self._pace(ready)  # items arrived after the last session decided to stop

    async def _take(self, key: str, rate: Any, now: float) -> float:
        if rate is None:
            return 0.0
        return await self._throttles.take(key, rate, now)

    async def _wait_or_hand_back(self, ready: ReadyQueue, wait: float) -> bool:
        """Wait briefly for a throttle, or return the queue to the scheduled queue."""
        if wait <= MAX_INLINE_WAIT:
            await self._sleep(wait)
            return True
        shape = self._shape(ready)
        rates = [r.per_second for r in (shape.max_message_rate, ready.limits.source_rate) if r]
        per_second = min(rates, default=1.0 / wait)
        self._hand_back(ready, [wait + k / per_second for k in range(len(ready.items))])
        return False

    async def _send(self, ready: ReadyQueue, conn: SmtpConnection, host: str, item: Item) -> None:
        job, msg = item.job, item.message
        try:
            reply = await conn.send(msg.mail_from, msg.rcpt, msg.data, smtputf8=msg.smtputf8)
        except DeliveryError as exc:
            self._fail(job, exc, mx_host=host, ready=ready)
            return
        now = self._timer()
        ready.note(ready.sent, now)
        self._sent_sources.add(ready.source.name)
        self.delivered += 1
        self._finish(
            Outcome(
                job=job,
                kind="delivered",
                at=self._clock.now(),
                code=reply.code,
                reply=str(reply),
                mx_host=host,
            )
        )

    async def _connect(self, ready: ReadyQueue) -> tuple[SmtpConnection, str, Relay | None]:
        cfg = self.config
        return await open_session(
            ready, smtp_port=cfg.smtp_port, helo_name=cfg.helo_name, timeout=cfg.smtp_timeout,
            on_refusal=lambda exc: self._observe(ready, exc),
        )  # fmt: skip

    # -- outcomes -----------------------------------------------------------------------

    def _observe(self, ready: ReadyQueue, exc: DeliveryError) -> None:
        """Let automation rules see a real reply from the remote server."""
        if not exc.code:
            return  # our own failure (timeout, refused connection): never a rule's trigger
        action = self.board.observe(
            site_scope=ready.site_scope,
            source_scope=ready.source_scope,
            reply=str(exc),
            rules=ready.limits.automation,
            now=self._timer(),
            normal_connections=ready.limits.limits.connection_limit or 1,
        )
        if action is not None:
            log.warning(
                "automation: %s on %s after %r", action.describe(self._timer()), ready.key, str(exc)
            )
            # Every other worker sending to this site must back off too.
            self._spawn(self._throttles.publish_action(SharedAction.of(action), self._timer()))

    def _fail(
        self, job: OutboxJob, exc: DeliveryError, *, mx_host: str | None, ready: ReadyQueue | None
    ) -> None:
        if ready is not None:
            self._observe(ready, exc)
            if not isinstance(exc, PermanentFailure):
                ready.note(ready.deferred, self._timer())
        self._finish(failure_outcome(job, exc, now=self._clock.now(), mx_host=mx_host,
                                     retry=self.config.retry, rng=self._rng))  # fmt: skip

    def _finish(self, outcome: Outcome) -> None:
        self._pending.pop(outcome.job.id, None)
        self._outcomes.append(outcome)
        if outcome.kind != "released":
            self.attempts += 1
            attempt_log.info(
                "attempt outbox=%d campaign=%d rcpt=%s outcome=%s mx=%s code=%s reply=%r",
                outcome.job.id,
                outcome.job.campaign_id,
                outcome.job.email,
                outcome.kind,
                outcome.mx_host or "-",
                outcome.code or "-",
                outcome.reply or "",
            )
        if len(self._outcomes) >= FLUSH_EVERY or len(self._pending) <= self.config.batch_size // 2:
            self._progress.set()

    async def _flush(self) -> None:
        async with self._flush_lock:
            if not self._outcomes:
                return
            batch, self._outcomes = self._outcomes, []
            await asyncio.to_thread(self._store.record, self.config.owner, batch)
            if self._sent_sources:
                sources, self._sent_sources = self._sent_sources, set()
                days = await asyncio.to_thread(
                    engine_state.note_sending_day,
                    self._store.engine,
                    sources,
                    self._clock.now().date(),
                )
                self._warmup.update(days)
            if self._after_record is not None:
                await asyncio.to_thread(self._after_record, batch)

    async def _snapshot(self) -> None:
        now = self._timer()
        snaps = []
        for ready in list(self._ready.values()):
            actions = [a.describe(now) for scope in (ready.site_scope, ready.source_scope)
                       for a in self.board.active(scope, now)]  # fmt: skip
            snap = ready.snapshot(worker=self.config.owner, shape=self._shape(ready),
                                  actions=actions, now=now, at=self._clock.now())  # fmt: skip
            if snap is not None:
                snaps.append(snap)
        await asyncio.to_thread(
            engine_state.write_snapshots, self._store.engine, self.config.owner, snaps
        )

    async def _shutdown(self) -> None:
        """Stop sessions and hand every row not finished back to the queue."""
        self._slots.close()
        if not self._pending and self._tasks:
            # Nothing left to send: sessions are only saying QUIT; let them finish politely.
            await asyncio.wait(list(self._tasks), timeout=SHUTDOWN_GRACE_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        now = self._clock.now()
        for job in list(self._pending.values()):
            self._finish(Outcome(job=job, kind="released", at=now))
        self._ready.clear()
        await self._flush()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(
                engine_state.write_snapshots, self._store.engine, self.config.owner, []
            )
