"""``/api/v1/verification``: verify one address now, or a whole list in the background
(``sendwell verify ADDR`` and ``sendwell verify --list`` over HTTP).

* ``POST /verification/check`` answers with the verdict of one address (stored nowhere);
* ``POST /verification/runs`` queues the verification of every member of a list; poll
  ``GET /verification/runs/{id}`` (addresses checked of ``total``); results are stored
  per address and read with ``GET /verification/results?list_id=`` (filter by verdict)
  and ``GET /verification/summary?list_id=``.

Checks: syntax, DNS/MX, disposable, role, free mail, typo, sendwell's own bounce and
complaint history, and the SMTP mailbox probe when ``probe`` is true (default: the
``verify_probe`` setting). Running a check needs ``verification:write`` (it makes DNS
queries, a probe contacts mail servers); reading runs ``verification:read``; results,
which list addresses, also ``subscribers:read``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from sendwell.accounts.tokens import ApiToken
from sendwell.app import App
from sendwell.audience.lists import get_list
from sendwell.verify.service import list_results, verdict_counts
from sendwell.web.api.common import ERRORS, MAX_ID, NO_NUL, Page, Paging, next_cursor, paging
from sendwell.web.api.subscribers import VerificationOut, verification_out
from sendwell.web.auth import get_app, get_runner, require_scope
from sendwell.web.jobs import Job, JobState, get_job, job_page, request_cancel, sweep_interrupted
from sendwell.web.runner import JobRunner
from sendwell.web.verification import start_list_verification, verify_address

router = APIRouter(tags=["verification"], responses=ERRORS)
READ = [Depends(require_scope("verification:read"))]
RESULTS = [*READ, Depends(require_scope("subscribers:read"))]
RunId = Path(ge=1, le=MAX_ID)
State = Literal["queued", "running", "finished", "failed", "cancelled"]
VerdictFilter = Literal["valid", "risky", "invalid", "unknown", "unverified"]


class CheckIn(BaseModel):
    email: str = Field(min_length=1, max_length=1000, pattern=NO_NUL)
    probe: bool | None = Field(None, description="Also probe the mailbox (SMTP RCPT TO).")


class CheckOut(BaseModel):
    """The ``sendwell verify --json`` object, plus the score."""

    address: str
    normalized: str | None
    syntax_valid: bool
    verdict: Literal["valid", "risky", "invalid", "unknown"]
    score: int
    reasons: list[str]
    suggestion: str | None
    disposable: bool
    role: bool
    free: bool


class RunIn(BaseModel):
    list_id: int = Field(ge=1, le=MAX_ID)
    probe: bool | None = Field(None, description="Also probe mailboxes (SMTP RCPT TO).")


class RunOut(BaseModel):
    id: int
    state: State
    list_id: int | None
    probe: bool
    total: int = Field(description="Members of the list when the run started.")
    checked: int = Field(description="Addresses verified so far.")
    percent: int
    verdicts: dict[str, int] = Field(
        description="Verdicts of this run (valid, risky, invalid, unknown), once finished."
    )
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ResultOut(BaseModel):
    subscriber_id: int
    email: str
    verification: VerificationOut | None = Field(description="null: never verified.")


class SummaryOut(BaseModel):
    list_id: int
    verdicts: dict[str, int] = Field(
        description="Members by their latest verdict, and `unverified`."
    )


def run_out(job: Job) -> RunOut:
    result = job.result or {}
    return RunOut(
        id=job.id, state=job.state, list_id=job.list_id,  # type: ignore[arg-type]
        probe=bool(job.params.get("probe")), total=job.total, checked=job.done,
        percent=job.percent, verdicts=dict(result.get("verdicts") or {}), error=job.error,
        created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
    )  # fmt: skip


def _job(a: App, run_id: int) -> Job:
    with a.engine.begin() as conn:
        sweep_interrupted(conn, now=a.clock.now())
        return get_job(conn, run_id, "verify_list")


@router.post("/verification/check", dependencies=[Depends(require_scope("verification:write"))])
def check(body: CheckIn, a: App = Depends(get_app)) -> CheckOut:
    """Verify one address now; nothing is stored."""
    r = verify_address(a, body.email, probe=body.probe)
    return CheckOut(**r.as_json(), score=r.score)  # type: ignore[arg-type]


@router.get("/verification/runs", dependencies=READ)
def list_runs(
    page: Paging = Depends(paging),
    list_id: int | None = Query(None, ge=1, le=MAX_ID, description="Only runs of this list."),
    state: State | None = Query(None, description="Only runs in this state."),
    a: App = Depends(get_app),
) -> Page[RunOut]:
    st: JobState | None = state
    with a.engine.begin() as conn:
        sweep_interrupted(conn, now=a.clock.now())
        jobs = job_page(
            conn, "verify_list", limit=page.limit, after=page.after, list_id=list_id, state=st
        )
    return Page(
        items=[run_out(j) for j in jobs], next_cursor=next_cursor([j.id for j in jobs], page.limit)
    )


@router.post("/verification/runs", status_code=202)
def post_run(
    body: RunIn,
    token: ApiToken = Depends(require_scope("verification:write")),
    a: App = Depends(get_app),
    runner: JobRunner = Depends(get_runner),
) -> RunOut:
    """Queue the verification of every member of a list; results are stored."""
    job = start_list_verification(
        a, runner, body.list_id, probe=body.probe, created_by=f"token:{token.id}"
    )
    return run_out(_job(a, job.id))


@router.get("/verification/runs/{run_id}", dependencies=READ)
def get_run(run_id: int = RunId, a: App = Depends(get_app)) -> RunOut:
    return run_out(_job(a, run_id))


@router.post(
    "/verification/runs/{run_id}/cancel",
    dependencies=[Depends(require_scope("verification:write"))],
)
def cancel_run(run_id: int = RunId, a: App = Depends(get_app)) -> RunOut:
    """Stop a run; addresses already checked keep their stored results."""
    with a.engine.begin() as conn:
        request_cancel(conn, run_id, "verify_list", now=a.clock.now())
    return run_out(_job(a, run_id))


@router.get("/verification/results", dependencies=RESULTS)
def results(
    list_id: int = Query(..., ge=1, le=MAX_ID, description="The list whose members to show."),
    verdict: VerdictFilter | None = Query(None, description="Only this verdict."),
    page: Paging = Depends(paging),
    a: App = Depends(get_app),
) -> Page[ResultOut]:
    """A list's members by subscriber id with their latest stored verification."""
    with a.engine.connect() as conn:
        get_list(conn, list_id)
        rows = list_results(conn, list_id, verdict=verdict, after=page.after, limit=page.limit)
    items = [
        ResultOut(
            subscriber_id=r.subscriber_id,
            email=r.email,
            verification=verification_out(r.verification),
        )
        for r in rows
    ]
    return Page(items=items, next_cursor=next_cursor([r.subscriber_id for r in rows], page.limit))


@router.get("/verification/summary", dependencies=READ)
def summary(list_id: int = Query(..., ge=1, le=MAX_ID), a: App = Depends(get_app)) -> SummaryOut:
    """How many of a list's members have each verdict now (and how many were never checked)."""
    with a.engine.connect() as conn:
        get_list(conn, list_id)
        return SummaryOut(list_id=list_id, verdicts=verdict_counts(conn, list_id))
