"""Background jobs started from the web: imports and list verifications, as database rows.

A job row (``web_jobs``) holds what to do (``params``), where it is (``state``, ``done`` of
``total``) and how it ended (``result`` counts or ``error``)::

    pending ──► queued ──► running ──► finished
       │           │          ├──────► failed      (bad input, or interrupted)
       └───────────┴──────────┴──────► cancelled

``pending`` is an uploaded import waiting for its column mapping (admin UI). Which process
runs a job and how is :mod:`sendwell.web.runner`'s business; this module only reads and
writes rows, so the API, the admin pages and the runner share one definition.

A job whose process died stays ``queued``/``running`` with a heartbeat that no longer
moves; :func:`sweep_interrupted` turns such rows into ``failed`` with a message saying
so (an import can be started again safely: it is an idempotent upsert).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, and_, insert, select, update

from sendwell.errors import ConflictError, NotFound
from sendwell.store.schema_web import web_jobs

JobKind = Literal["import", "verify_list"]
JobState = Literal["pending", "queued", "running", "finished", "failed", "cancelled"]
ACTIVE: tuple[JobState, ...] = ("queued", "running")
FINAL: tuple[JobState, ...] = ("finished", "failed", "cancelled")
# A running job's heartbeat is renewed every few seconds (runner.HEARTBEAT_SECONDS);
# one this old means its process is gone.
STALE_AFTER = timedelta(seconds=90)
INTERRUPTED = (
    "interrupted: the web process running this job stopped before it finished; "
    "start it again (an import can be repeated safely)"
)


@dataclass(frozen=True)
class Job:
    id: int
    kind: JobKind
    state: JobState
    list_id: int | None
    params: dict[str, Any]
    file_name: str | None
    total: int
    done: int
    result: dict[str, Any] | None
    error: str | None
    import_id: int | None
    cancel_requested: bool
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def percent(self) -> int:
        """Progress in whole percent (100 once finished)."""
        if self.state == "finished":
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0


def _job(row: Any) -> Job:
    m = row._mapping
    return Job(
        id=m["id"], kind=m["kind"], state=m["state"], list_id=m["list_id"],
        params=dict(m["params"] or {}), file_name=m["file_name"], total=int(m["total"]),
        done=int(m["done"]), result=m["result"], error=m["error"], import_id=m["import_id"],
        cancel_requested=bool(m["cancel_requested"]), created_by=m["created_by"],
        created_at=m["created_at"], started_at=m["started_at"], finished_at=m["finished_at"],
    )  # fmt: skip


def create_job(
    conn: Connection,
    kind: JobKind,
    *,
    state: JobState,
    params: dict[str, Any],
    created_by: str,
    now: datetime,
    list_id: int | None = None,
    file_name: str | None = None,
    total: int = 0,
) -> Job:
    job_id = conn.execute(
        insert(web_jobs).values(
            kind=kind, state=state, list_id=list_id, params=params, file_name=file_name,
            total=total, done=0, cancel_requested=False, created_by=created_by,
            created_at=now, heartbeat_at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
    return get_job(conn, int(job_id))


def get_job(conn: Connection, job_id: int, kind: JobKind | None = None) -> Job:
    cond = web_jobs.c.id == job_id
    if kind is not None:
        cond = and_(cond, web_jobs.c.kind == kind)
    row = conn.execute(select(web_jobs).where(cond)).first()
    if row is None:
        what = {"import": "import", "verify_list": "verification run", None: "job"}[kind]
        raise NotFound(f"no {what} with id {job_id}")
    return _job(row)


def job_page(
    conn: Connection,
    kind: JobKind,
    *,
    limit: int,
    after: int = 0,
    list_id: int | None = None,
    state: JobState | None = None,
    newest_first: bool = False,
) -> list[Job]:
    """Jobs of one kind by id (``after``: the last id of the previous page)."""
    query = select(web_jobs).where(web_jobs.c.kind == kind)
    if newest_first:
        if after:
            query = query.where(web_jobs.c.id < after)
        query = query.order_by(web_jobs.c.id.desc())
    else:
        query = query.where(web_jobs.c.id > after).order_by(web_jobs.c.id)
    if list_id is not None:
        query = query.where(web_jobs.c.list_id == list_id)
    if state is not None:
        query = query.where(web_jobs.c.state == state)
    return [_job(r) for r in conn.execute(query.limit(limit))]


def update_job(conn: Connection, job_id: int, **values: Any) -> None:
    conn.execute(update(web_jobs).where(web_jobs.c.id == job_id).values(**values))


def claim(conn: Connection, job_id: int, *, now: datetime) -> bool:
    """queued → running; False when the job is no longer queued (cancelled meanwhile)."""
    result = conn.execute(
        update(web_jobs)
        .where(web_jobs.c.id == job_id, web_jobs.c.state == "queued")
        .values(state="running", started_at=now, heartbeat_at=now)
    )
    return bool(result.rowcount)


def record_progress(
    conn: Connection, job_id: int, done: int, *, now: datetime, result: dict[str, Any] | None
) -> bool:
    """Store progress (and partial counts); returns whether cancellation was requested."""
    values: dict[str, Any] = {"done": done, "heartbeat_at": now}
    if result is not None:
        values["result"] = result
    update_job(conn, job_id, **values)
    flag = conn.execute(select(web_jobs.c.cancel_requested).where(web_jobs.c.id == job_id))
    return bool(flag.scalar_one_or_none())


def finish(
    conn: Connection,
    job_id: int,
    state: JobState,
    *,
    now: datetime,
    done: int | None = None,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    import_id: int | None = None,
) -> None:
    values: dict[str, Any] = {"state": state, "finished_at": now, "heartbeat_at": now}
    if done is not None:
        values["done"] = done
    if result is not None:
        values["result"] = result
    if error is not None:
        values["error"] = error[:2000]
    if import_id is not None:
        values["import_id"] = import_id
    update_job(conn, job_id, **values)


def request_cancel(conn: Connection, job_id: int, kind: JobKind, *, now: datetime) -> Job:
    """Cancel a job: at once when it has not started, at its next progress step when it
    runs; 409 when it has already ended."""
    job = get_job(conn, job_id, kind)
    if job.state in FINAL:
        raise ConflictError(f"{kind.replace('_', ' ')} {job_id} has already {job.state}")
    if job.state in ("pending", "queued"):
        conn.execute(
            update(web_jobs)
            .where(web_jobs.c.id == job_id, web_jobs.c.state.in_(("pending", "queued")))
            .values(state="cancelled", finished_at=now, cancel_requested=True)
        )
    update_job(conn, job_id, cancel_requested=True)
    return get_job(conn, job_id, kind)


def delete_job(conn: Connection, job_id: int) -> None:
    conn.execute(web_jobs.delete().where(web_jobs.c.id == job_id))


def abandon_queued(conn: Connection, job_ids: list[int], *, now: datetime) -> None:
    """Jobs that never started because their process stopped: failed, interrupted."""
    if job_ids:
        conn.execute(
            update(web_jobs)
            .where(web_jobs.c.id.in_(job_ids), web_jobs.c.state == "queued")
            .values(state="failed", error=INTERRUPTED, finished_at=now)
        )


def heartbeat(conn: Connection, job_ids: list[int], *, now: datetime) -> None:
    if job_ids:
        conn.execute(
            update(web_jobs)
            .where(web_jobs.c.id.in_(job_ids), web_jobs.c.state.in_(ACTIVE))
            .values(heartbeat_at=now)
        )


def sweep_interrupted(conn: Connection, *, now: datetime) -> int:
    """Mark queued/running jobs whose heartbeat stopped as failed; returns how many."""
    result = conn.execute(
        update(web_jobs)
        .where(web_jobs.c.state.in_(ACTIVE), web_jobs.c.heartbeat_at < now - STALE_AFTER)
        .values(state="failed", error=INTERRUPTED, finished_at=now)
    )
    return int(result.rowcount or 0)


def stale_pending(conn: Connection, *, before: datetime) -> list[Job]:
    """Uploads still waiting for a mapping since before ``before`` (abandoned)."""
    rows = conn.execute(
        select(web_jobs).where(web_jobs.c.state == "pending", web_jobs.c.created_at < before)
    )
    return [_job(r) for r in rows]
