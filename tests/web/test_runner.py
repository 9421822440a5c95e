"""The background job runner: progress, cancellation while running, stop, heartbeats."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine

from sendwell.app import App
from sendwell.clock import FrozenClock
from sendwell.errors import InvalidInput
from sendwell.web import runner as runner_module
from sendwell.web.jobs import (
    INTERRUPTED,
    STALE_AFTER,
    Job,
    create_job,
    get_job,
    request_cancel,
    sweep_interrupted,
)
from sendwell.web.runner import JobContext, JobRunner


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """SQLite only: the job rows are plain inserts and updates, covered on both backends
    by the import and verification API tests."""
    return sqlite_engine


def queued(app: App) -> Job:
    with app.engine.begin() as conn:
        return create_job(conn, "verify_list", state="queued", params={}, created_by="test",
                          now=app.clock.now())  # fmt: skip


def state_of(app: App, job_id: int) -> Job:
    with app.engine.connect() as conn:
        return get_job(conn, job_id)


def test_a_finished_task_stores_its_result_and_progress(app: App) -> None:
    runner = JobRunner(app, workers=1)
    job = queued(app)

    def task(ctx: JobContext) -> dict[str, Any]:
        for _ in range(3):
            ctx.advance(5)
        return {"checked": ctx.done}

    runner.submit(job.id, task)
    runner.wait(job.id)
    done = state_of(app, job.id)
    assert (done.state, done.done, done.result, done.error) == (
        "finished",
        15,
        {"checked": 15},
        None,
    )
    assert done.started_at is not None and done.finished_at is not None
    runner.close()


def test_errors_end_a_job_failed_with_a_message(app: App) -> None:
    runner = JobRunner(app, workers=1)
    bad, broken = queued(app), queued(app)

    def invalid(ctx: JobContext) -> dict[str, Any]:
        raise InvalidInput("line 3: no email column")

    def crash(ctx: JobContext) -> dict[str, Any]:
        raise RuntimeError("secret internals")

    runner.submit(bad.id, invalid)
    runner.submit(broken.id, crash)
    runner.wait(bad.id)
    runner.wait(broken.id)
    assert state_of(app, bad.id).error == "line 3: no email column"
    failed = state_of(app, broken.id)
    assert failed.state == "failed"
    assert "secret" not in (failed.error or "")
    runner.close()


def test_a_running_task_stops_at_its_next_step_when_cancelled(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "PROGRESS_SECONDS", 0.0)  # check on every step
    runner = JobRunner(app, workers=1)
    job = queued(app)
    started, steps = threading.Event(), []

    def task(ctx: JobContext) -> dict[str, Any]:
        ctx.set_partial(lambda: {"steps": len(steps)})
        ctx.advance(1)
        started.set()
        while len(steps) < 10_000:
            steps.append(1)
            ctx.advance(1)
        return {"steps": len(steps)}

    runner.submit(job.id, task)
    assert started.wait(10)
    with app.engine.begin() as conn:
        request_cancel(conn, job.id, "verify_list", now=app.clock.now())
    runner.wait(job.id)
    ended = state_of(app, job.id)
    assert ended.state == "cancelled"
    assert ended.result is not None and ended.result["steps"] < 10_000
    runner.close()


def test_stopping_the_runner_interrupts_running_and_queued_jobs(app: App) -> None:
    runner = JobRunner(app, workers=1)
    running, waiting = queued(app), queued(app)
    started = threading.Event()

    def task(ctx: JobContext) -> dict[str, Any]:
        started.set()
        while True:  # until the runner stops
            ctx.advance(1)
            runner.stopping.wait(0.01)

    runner.submit(running.id, task)
    runner.submit(waiting.id, task)
    assert started.wait(10)
    runner.close()
    for job_id in (running.id, waiting.id):
        stopped = state_of(app, job_id)
        assert (stopped.state, stopped.error) == ("failed", INTERRUPTED)
    with pytest.raises(Exception, match="stopping"):
        runner.submit(queued(app).id, task)


def test_jobs_of_a_dead_process_are_swept_live_ones_are_not(app: App, clock: FrozenClock) -> None:
    dead = queued(app)  # queued by a process that is gone: no heartbeat ever again
    live = queued(app)
    runner = JobRunner(app, workers=1)
    release = threading.Event()
    runner.submit(live.id, lambda ctx: {"waited": release.wait(30)})
    with app.engine.begin() as conn:
        assert sweep_interrupted(conn, now=clock.now()) == 0
    clock.advance(STALE_AFTER.total_seconds() + 1)
    runner.beat()  # what the heartbeat thread does every HEARTBEAT_SECONDS
    with app.engine.begin() as conn:
        assert sweep_interrupted(conn, now=clock.now()) == 1
    swept = state_of(app, dead.id)
    assert (swept.state, swept.error) == ("failed", INTERRUPTED)
    assert state_of(app, live.id).state in ("queued", "running")
    release.set()
    runner.wait(live.id)
    assert state_of(app, live.id).state == "finished"
    runner.close()
