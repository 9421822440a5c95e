"""Runs background jobs (``web.jobs``) on a few threads of the web process.

Usage, from a route::

    job = create_job(conn, "import", state="queued", ...)
    runner.submit(job.id, lambda ctx: run_import(app, job, ctx))

A task gets a :class:`JobContext` and calls ``ctx.advance(n)`` as it makes progress; that
stores ``done`` (at most every :data:`PROGRESS_SECONDS`, so a million small steps cost a
few hundred writes) and raises :class:`JobCancelled` when someone asked to cancel or the
server is stopping. The task's return value is the job's ``result``; a
:class:`~sendwell.errors.SendwellError` ends it ``failed`` with that message, anything else
``failed`` with a generic one (details in the log).

While it owns jobs, the runner renews their heartbeat every :data:`HEARTBEAT_SECONDS` from
one daemon thread, so a job of a process that died is recognised (``jobs.STALE_AFTER``).

Limits: jobs run in the process that accepted them and are not picked up by another one
after a crash (they end ``failed``, and an import can simply be started again). At most
``web_background_jobs`` run at once per process; the rest wait ``queued`` in memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from sendwell.app import App
from sendwell.errors import ConflictError, SendwellError
from sendwell.web.jobs import (
    INTERRUPTED,
    JobState,
    abandon_queued,
    claim,
    finish,
    heartbeat,
    record_progress,
)

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 0.5
HEARTBEAT_SECONDS = 10.0

Task = Callable[["JobContext"], dict[str, Any]]


class JobCancelled(Exception):
    """Raised inside a task to stop it: cancelled by a user, or the server is stopping."""

    def __init__(self, message: str, *, stopping: bool = False) -> None:
        super().__init__(message)
        self.stopping = stopping


class JobContext:
    """What a running task reports through (one per job, used from the job's thread)."""

    def __init__(
        self, runner: JobRunner, job_id: int, *, partial: Callable[[], dict[str, Any]] | None
    ) -> None:
        self._runner = runner
        self.job_id = job_id
        self.done = 0
        self._partial = partial
        self._last = 0.0

    def set_partial(self, partial: Callable[[], dict[str, Any]] | None) -> None:
        """A function giving the counts so far, stored with each progress write."""
        self._partial = partial

    def partial(self) -> dict[str, Any] | None:
        """The counts so far (None when the task gave no way to count, or counting fails)."""
        if self._partial is None:
            return None
        try:
            return self._partial()
        except Exception:
            log.exception("counting the partial result of job %s failed", self.job_id)
            return None

    def advance(self, n: int) -> None:
        self.done += n
        if self._runner.stopping.is_set():
            raise JobCancelled("the web server is stopping", stopping=True)
        now = time.monotonic()
        if now - self._last < PROGRESS_SECONDS:
            return
        self._last = now
        a = self._runner.app
        with a.engine.begin() as conn:
            cancelled = record_progress(
                conn, self.job_id, self.done, now=a.clock.now(),
                result=self.partial(),
            )  # fmt: skip
        if cancelled:
            raise JobCancelled("cancelled")


class JobRunner:
    """A bounded thread pool for jobs, created on first use and stopped by :meth:`close`."""

    def __init__(self, app: App, *, workers: int) -> None:
        self.app = app
        self.workers = max(1, workers)
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._heart: threading.Thread | None = None
        self._futures: dict[int, Future[None]] = {}

    def submit(self, job_id: int, task: Task) -> None:
        """Run ``task`` for the queued job ``job_id`` when a thread is free."""
        with self._lock:
            if self.stopping.is_set():
                raise ConflictError("the web server is stopping; try again in a moment")
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="sendwell-job")
                self._heart = threading.Thread(
                    target=self._beat, name="sendwell-job-heartbeat", daemon=True
                )
                self._heart.start()
            self._futures[job_id] = self._executor.submit(self._run, job_id, task)

    def wait(self, job_id: int, timeout: float = 60.0) -> None:
        """Block until the job this runner took has ended (tests, scripts)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is None:
            return
        try:
            future.result(timeout)
        except FutureTimeout:
            raise TimeoutError(f"job {job_id} still running after {timeout:g} s") from None

    def _owned(self) -> list[int]:
        with self._lock:
            return [job_id for job_id, f in self._futures.items() if not f.done()]

    def beat(self) -> None:
        """Renew the heartbeat of every job this runner has queued or running."""
        owned = self._owned()
        if owned:
            with self.app.engine.begin() as conn:
                heartbeat(conn, owned, now=self.app.clock.now())

    def _beat(self) -> None:
        while not self.stopping.wait(HEARTBEAT_SECONDS):
            try:
                self.beat()
            except Exception:  # a missed beat is retried; the job itself is unaffected
                log.exception("job heartbeat failed")

    def _run(self, job_id: int, task: Task) -> None:
        try:
            self._run_claimed(job_id, task)
        finally:
            with self._lock:
                self._futures.pop(job_id, None)

    def _run_claimed(self, job_id: int, task: Task) -> None:
        a = self.app
        with a.engine.begin() as conn:
            if not claim(conn, job_id, now=a.clock.now()):
                return  # cancelled while it waited
        ctx = JobContext(self, job_id, partial=None)
        state: JobState = "finished"
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            result = task(ctx)
        except JobCancelled as exc:
            state, error = ("failed", INTERRUPTED) if exc.stopping else ("cancelled", None)
        except SendwellError as exc:
            state, error = "failed", str(exc)
        except Exception:
            log.exception("background job %s failed", job_id)
            state, error = "failed", "internal error; the server log has the details"
        with a.engine.begin() as conn:
            finish(
                conn, job_id, state, now=a.clock.now(), done=ctx.done,
                result=result if result is not None else ctx.partial(), error=error,
            )  # fmt: skip

    def close(self, timeout: float = 30.0) -> None:
        """Stop: running tasks end at their next step (``failed``, interrupted); queued
        ones are not started and are marked so."""
        self.stopping.set()
        with self._lock:
            executor, self._executor = self._executor, None
            waiting = list(self._futures)
        if executor is None:
            return
        executor.shutdown(wait=True, cancel_futures=True)
        if self._heart is not None:
            self._heart.join(timeout)
        with self.app.engine.begin() as conn:
            abandon_queued(conn, waiting, now=self.app.clock.now())
