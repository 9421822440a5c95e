"""The delivery worker: leases outbox rows and delivers them over reused SMTP sessions.

Flow inside one worker process (one asyncio event loop)::

    lease batch ─► build messages (thread) ─► resolve MX (cached) ─► site queue
                                                                    │ up to N sessions
                                                                    ▼ per site
                                        outcome buffer ◄── SMTP send (one rcpt / txn)
                                              │ every 0.2 s or 200 outcomes
                                              ▼
                                   outbox rows + events (one transaction)

A *site* is the set of MX hosts a domain resolves to, so every domain hosted by one
provider shares one queue and one connection limit. Sessions to a site are opened on
demand up to ``site_connection_limit`` and reused for up to
``max_deliveries_per_connection`` messages.

Outcomes: a 2xx after DATA → ``delivered``; a 5xx → ``bounced`` (never retried); a 4xx, a
dropped connection or a timeout → ``deferred`` with the next attempt computed by
:mod:`sendwell.delivery.retry`, or ``expired`` past the maximum age.

Limits: rate shaping, warm-up and automation rules are not applied here yet; the only
pacing is the per-site connection limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sendwell.clock import Clock
from sendwell.delivery.jobs import (
    BuildFailure,
    MessageBuilder,
    OutboxJob,
    Outcome,
    OutcomeKind,
    PreparedMessage,
)
from sendwell.delivery.mx import MxResolver, MxRoute
from sendwell.delivery.outbox import OutboxStore
from sendwell.delivery.retry import RetryPolicy, next_attempt_at
from sendwell.delivery.smtp import SmtpConnection
from sendwell.errors import DeliveryError, PermanentFailure, TemporaryFailure

log = logging.getLogger("sendwell.delivery")
attempt_log = logging.getLogger("sendwell.delivery.attempt")

FLUSH_EVERY = 200
FLUSH_SECONDS = 0.2
SHUTDOWN_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs to know, taken from settings by the composition root."""

    smtp_port: int = 25
    helo_name: str = "localhost"
    batch_size: int = 500
    concurrency: int = 100
    site_connection_limit: int = 10
    max_deliveries_per_connection: int = 100
    lease_seconds: float = 300.0
    smtp_timeout: float = 30.0
    poll_seconds: float = 1.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    local_addr: str | None = None
    owner: str = field(default_factory=lambda: f"w-{uuid.uuid4().hex[:12]}")


@dataclass
class _Item:
    job: OutboxJob
    message: PreparedMessage


@dataclass
class _Site:
    key: str
    route: MxRoute
    queue: deque[_Item] = field(default_factory=deque)
    sessions: int = 0


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
        after_record: Callable[[], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._store = store
        self._builder = builder
        self._resolver = resolver
        self._clock = clock
        self._after_record = after_record
        self._rng = rng or random.Random()
        self._pending: dict[int, OutboxJob] = {}
        self._sites: dict[str, _Site] = {}
        self._outcomes: list[Outcome] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._active: set[int] = set()
        self._sessions = 0
        self._session_slot: asyncio.Condition | None = None
        self._progress: asyncio.Event | None = None
        self._flush_lock: asyncio.Lock | None = None
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
        self._session_slot = asyncio.Condition()
        self._progress = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        cfg = self.config
        last_renew = self._clock.now()
        try:
            while not (stop is not None and stop.is_set()):
                self._active = await asyncio.to_thread(self._store.running_campaigns)
                leased = 0
                if len(self._pending) <= cfg.batch_size // 2:
                    leased = await self._lease_and_dispatch(cfg.batch_size - len(self._pending))
                await self._flush()
                if not self._pending and leased == 0:
                    if until_idle:
                        return
                    if until is not None and await asyncio.to_thread(until):
                        return
                    await self._idle_wait(stop)
                    continue
                self._progress.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._progress.wait(), FLUSH_SECONDS)
                now = self._clock.now()
                if (now - last_renew).total_seconds() > cfg.lease_seconds / 3:
                    await asyncio.to_thread(
                        self._store.renew,
                        cfg.owner,
                        list(self._pending),
                        lease_seconds=cfg.lease_seconds,
                        now=now,
                    )
                    last_renew = now
        finally:
            await self._shutdown()

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
        now = self._clock.now()
        jobs = await asyncio.to_thread(
            self._store.lease, cfg.owner, limit=limit, lease_seconds=cfg.lease_seconds, now=now
        )
        if not jobs:
            return 0
        for job in jobs:
            self._pending[job.id] = job
        built = await asyncio.to_thread(self._builder.build, jobs)
        by_domain: dict[str, list[_Item]] = {}
        for job, message in zip(jobs, built, strict=True):
            if isinstance(message, BuildFailure):
                self._finish(
                    Outcome(job=job, kind="failed", at=self._clock.now(), reply=message.reason)
                )
            else:
                by_domain.setdefault(job.domain, []).append(_Item(job, message))
        for domain, items in by_domain.items():
            self._spawn(self._route(domain, items))
        return len(jobs)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def _route(self, domain: str, items: list[_Item]) -> None:
        try:
            route = await self._resolver.resolve(domain)
        except DeliveryError as exc:
            for item in items:
                self._fail(item.job, exc, mx_host=None)
            return
        site = self._sites.get(route.site)
        if site is None:
            site = self._sites[route.site] = _Site(key=route.site, route=route)
        site.route = route
        site.queue.extend(items)
        want = min(len(site.queue), self.config.site_connection_limit) - site.sessions
        for _ in range(max(0, want)):
            site.sessions += 1
            self._spawn(self._session(site))

    # -- one SMTP session ---------------------------------------------------------------

    async def _session(self, site: _Site) -> None:
        assert self._session_slot is not None
        conn: SmtpConnection | None = None
        host = ""
        try:
            async with self._session_slot:
                await self._session_slot.wait_for(lambda: self._sessions < self.config.concurrency)
                self._sessions += 1
            while site.queue:
                if (
                    conn is None
                    or not conn.is_usable
                    or (conn.messages_sent >= self.config.max_deliveries_per_connection)
                ):
                    if conn is not None:
                        await conn.close()
                        conn = None
                    try:
                        conn, host = await self._connect(site.route)
                    except DeliveryError as exc:
                        if site.sessions == 1:
                            # Nobody else is getting through to this site: defer its backlog.
                            while site.queue:
                                self._fail(site.queue.popleft().job, exc, mx_host=None)
                        return
                item = site.queue.popleft()
                job = item.job
                if job.campaign_id not in self._active:
                    self._finish(Outcome(job=job, kind="released", at=self._clock.now()))
                    continue
                msg = item.message
                try:
                    reply = await conn.send(
                        msg.mail_from, msg.rcpt, msg.data, smtputf8=msg.smtputf8
                    )
                except DeliveryError as exc:
                    self._fail(job, exc, mx_host=host)
                    continue
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
        finally:
            site.sessions -= 1
            if conn is not None:
                await conn.close()
            async with self._session_slot:
                self._sessions = max(0, self._sessions - 1)
                self._session_slot.notify_all()

    async def _connect(self, route: MxRoute) -> tuple[SmtpConnection, str]:
        """Open a session to the most preferred MX host that answers."""
        cfg = self.config
        last: DeliveryError = TemporaryFailure(0, f"no usable MX host for {route.domain}")
        for mx in route.hosts:
            for address in mx.addresses:
                try:
                    conn = await SmtpConnection.open(
                        address,
                        cfg.smtp_port,
                        helo_name=cfg.helo_name,
                        local_addr=cfg.local_addr,
                        timeout=cfg.smtp_timeout,
                        server_hostname=mx.name,
                    )
                except PermanentFailure as exc:
                    last = exc
                    continue
                except TemporaryFailure as exc:
                    last = exc
                    continue
                return conn, mx.name
        raise last

    # -- outcomes -----------------------------------------------------------------------

    def _fail(self, job: OutboxJob, exc: DeliveryError, *, mx_host: str | None) -> None:
        now = self._clock.now()
        code = exc.code or None
        if isinstance(exc, PermanentFailure):
            self._finish(
                Outcome(job=job, kind="bounced", at=now, code=code, reply=str(exc), mx_host=mx_host)
            )
            return
        when = next_attempt_at(
            policy=self.config.retry,
            attempts=job.attempts + 1,
            first_attempt_at=job.first_attempt_at or now,
            now=now,
            reply_text=exc.reply,
            rng=self._rng,
        )
        kind: OutcomeKind = "expired" if when is None else "deferred"
        self._finish(
            Outcome(
                job=job,
                kind=kind,
                at=now,
                code=code,
                reply=str(exc),
                mx_host=mx_host,
                next_attempt_at=when,
            )
        )

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
        if self._progress is not None and (
            len(self._outcomes) >= FLUSH_EVERY or len(self._pending) <= self.config.batch_size // 2
        ):
            self._progress.set()

    async def _flush(self) -> None:
        assert self._flush_lock is not None
        async with self._flush_lock:
            if not self._outcomes:
                return
            batch, self._outcomes = self._outcomes, []
            await asyncio.to_thread(self._store.record, self.config.owner, batch)
            if self._after_record is not None:
                await asyncio.to_thread(self._after_record)

    async def _shutdown(self) -> None:
        """Stop sessions and hand every row not finished back to the queue."""
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
        self._sites.clear()
        await self._flush()
