"""Address verification from the web: one address now, or a whole list in the background.

Shared by ``/api/v1/verification`` and the admin verification pages. Both use the
verifier ``sendwell verify`` builds from settings (``App.verifier``) with the default
checks (syntax, DNS/MX, disposable, role, free, typo, history), plus the SMTP mailbox
probe when asked for or when ``verify_probe`` is on.

* :func:`verify_address` answers at once and stores nothing (like ``sendwell verify ADDR``);
* :func:`start_list_verification` queues a job that runs ``verify.service.verify_list``
  (results stored per address, as ``sendwell verify --list``); the job's progress is
  addresses checked of the list's members when it started.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sendwell.app import App
from sendwell.audience.lists import get_list
from sendwell.errors import InvalidInput
from sendwell.verify.records import DEFAULT_CHECKS, Check, Verification
from sendwell.verify.service import list_members, verdict_counts, verify_list
from sendwell.web.jobs import Job, create_job, get_job
from sendwell.web.runner import JobContext, JobRunner

MAX_ADDRESS = 1000


def checks_for(a: App, probe: bool | None) -> frozenset[Check]:
    wanted = a.settings.verify_probe if probe is None else probe
    return DEFAULT_CHECKS | {"probe"} if wanted else DEFAULT_CHECKS


def verify_address(a: App, address: str, *, probe: bool | None = None) -> Verification:
    """Verify one address (any text: malformed input gets an ``invalid`` verdict).

    Call from a thread without an event loop (FastAPI runs plain ``def`` routes in one).
    """
    if len(address) > MAX_ADDRESS:
        raise InvalidInput(f"an address is at most {MAX_ADDRESS} characters")
    verifier = a.verifier(checks_for(a, probe))
    if not verifier.online:
        return verifier.verify_offline([address])[0]
    return asyncio.run(verifier.verify_many([address]))[0]


def start_list_verification(
    a: App, runner: JobRunner, list_id: int, *, probe: bool | None, created_by: str
) -> Job:
    """Queue the verification of every member of ``list_id``."""
    checks = checks_for(a, probe)
    with a.engine.begin() as conn:
        ml = get_list(conn, list_id)
        job = create_job(
            conn, "verify_list", state="queued", params={"probe": "probe" in checks},
            created_by=created_by, now=a.clock.now(), list_id=ml.id,
            total=list_members(conn, ml.id),
        )  # fmt: skip
    runner.submit(job.id, lambda ctx: run_list_verification(a, job.id, ctx))
    return job


def run_list_verification(a: App, job_id: int, ctx: JobContext) -> dict[str, Any]:
    """The background task: verify and store, then report the list's verdicts."""
    with a.engine.connect() as conn:
        job = get_job(conn, job_id, "verify_list")
    if job.list_id is None:
        raise InvalidInput("the list of this verification was deleted")
    list_id = job.list_id
    verifier = a.verifier(checks_for(a, bool(job.params.get("probe"))))
    summary = asyncio.run(
        verify_list(a.engine, verifier, list_id, now=a.clock.now, on_progress=ctx.advance)
    )
    with a.engine.connect() as conn:
        return {"checked": summary.total, "verdicts": dict(summary.verdicts)} | {
            "list": verdict_counts(conn, list_id)
        }
