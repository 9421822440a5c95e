"""Admin pages for address verification: one address at once, a whole list in the
background with its results.

* ``/admin/verification`` — check one address (a read-only GET; nothing is stored), start
  the verification of a list (CSRF-checked post), recent runs;
* ``/admin/verification/runs/{id}`` — progress (polled by ``jobs.js``; the page reloads
  once when the run ends), the list's verdicts and its members filtered by verdict.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from sendwell.app import App
from sendwell.audience.lists import all_lists
from sendwell.errors import InvalidInput
from sendwell.verify.records import Verification
from sendwell.verify.service import list_results, verdict_counts
from sendwell.web.api.common import MAX_ID
from sendwell.web.auth import check_csrf, current_session, get_app, get_runner
from sendwell.web.jobs import Job, get_job, job_page, request_cancel, sweep_interrupted
from sendwell.web.runner import JobRunner
from sendwell.web.sessions import Session
from sendwell.web.templating import render
from sendwell.web.verification import start_list_verification, verify_address

router = APIRouter()
RunId = Path(ge=1, le=MAX_ID)
PAGE_SIZE = 100
VerdictFilter = Literal["valid", "risky", "invalid", "unknown", "unverified"]


def progress_json(job: Job) -> dict[str, Any]:
    return {
        "state": job.state, "percent": job.percent, "done": job.done, "total": job.total,
        "error": job.error or "",
    }  # fmt: skip


def _job(a: App, run_id: int) -> Job:
    with a.engine.begin() as conn:
        sweep_interrupted(conn, now=a.clock.now())
        return get_job(conn, run_id, "verify_list")


@router.get("/verification")
def verification_page(
    request: Request,
    address: str = Query("", max_length=1000),
    probe: bool = Query(False),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    result: Verification | None = None
    error = ""
    if address.strip():
        try:
            result = verify_address(a, address.strip(), probe=probe)
        except InvalidInput as exc:
            error = str(exc)
    with a.engine.begin() as conn:
        sweep_interrupted(conn, now=a.clock.now())
        runs = job_page(conn, "verify_list", limit=20, newest_first=True)
        lists = all_lists(conn)
    names = {ml.id: ml.name for ml, _ in lists}
    return render(
        request, "verification.html", session, address=address, probe=probe, result=result,
        error=error, runs=runs, lists=lists, names=names,
        probe_default=a.settings.verify_probe,
    )  # fmt: skip


@router.post("/verification/runs")
def start_run(
    list_id: int = Form(..., ge=1, le=MAX_ID),
    probe: bool = Form(False),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
    runner: JobRunner = Depends(get_runner),
) -> Response:
    job = start_list_verification(
        a, runner, list_id, probe=probe, created_by=f"user:{session.user_id}"
    )
    return RedirectResponse(f"/admin/verification/runs/{job.id}", status_code=303)


@router.get("/verification/runs/{run_id}")
def run_page(
    request: Request,
    run_id: int = RunId,
    verdict: VerdictFilter | None = Query(None),
    after: int = Query(0, ge=0, le=MAX_ID),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    job = _job(a, run_id)
    counts: dict[str, int] = {}
    results = []
    name = "a deleted list"
    if job.list_id is not None:
        with a.engine.connect() as conn:
            counts = verdict_counts(conn, job.list_id)
            results = list_results(conn, job.list_id, verdict=verdict, after=after, limit=PAGE_SIZE)
            name = next((ml.name for ml, _ in all_lists(conn) if ml.id == job.list_id), name)
    more = results[-1].subscriber_id if len(results) == PAGE_SIZE else None
    return render(
        request, "verification_run.html", session, job=job, progress=progress_json(job),
        counts=counts, results=results, verdict=verdict, more=more, list_name=name,
    )  # fmt: skip


@router.get("/verification/runs/{run_id}/progress.json")
def run_progress(
    run_id: int = RunId,
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> dict[str, Any]:
    return progress_json(_job(a, run_id))


@router.post("/verification/runs/{run_id}/cancel")
def cancel_run(
    run_id: int = RunId,
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.begin() as conn:
        request_cancel(conn, run_id, "verify_list", now=a.clock.now())
    return RedirectResponse(f"/admin/verification/runs/{run_id}", status_code=303)
