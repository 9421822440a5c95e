"""Subscriber imports from the web: the upload on disk, its checks, the background run.

Shared by ``/api/v1/imports`` and the admin import pages. An upload is stored under the
data directory, ``<data_dir>/uploads/job-<id>/`` (``upload`` as received, ``errors.csv``
for the rows not imported), and imported by ``audience.importer.import_file`` in a
background job (``web.runner``): the same streamed, batched, consent-logged import as
``sendwell subscribers import``.

The admin UI stores an upload as a ``pending`` job, shows its columns, and starts it once
the columns are mapped; the API takes file, mapping and declarations in one request. The
declared lawful basis, the soft opt-in source and the mapping are checked before anything
is queued, with messages for people rather than command-line flags.

Counts while the import runs come from its ``audience_imports`` row (found by its error
file, which is unique to the job), so progress shows rows added, updated, skipped and
rejected so far.

Limits: the upload is deleted when its import ends; the error file stays for download
(it holds the rejected rows: delete the job directory when it is no longer needed). A job
runs on the machine whose web process received the upload; with several web machines the
error file is only on that one. Uploads never mapped are removed after
:data:`PENDING_TTL`.
"""

from __future__ import annotations

import codecs
import shutil
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, BinaryIO

from sqlalchemy import Connection, select

from sendwell.app import App
from sendwell.audience.consent import check_basis
from sendwell.audience.import_preview import Preview, preview
from sendwell.audience.import_source import FIELDS, Format
from sendwell.audience.importer import ImportOptions, import_file
from sendwell.audience.lists import get_list
from sendwell.errors import ConflictError, InvalidInput
from sendwell.store.schema_audience import audience_imports
from sendwell.web.jobs import (
    Job,
    JobState,
    create_job,
    delete_job,
    get_job,
    job_page,
    request_cancel,
    stale_pending,
    sweep_interrupted,
    update_job,
)
from sendwell.web.runner import JobContext, JobRunner

CHUNK = 1 << 20
PENDING_TTL = timedelta(hours=24)
COUNTS = ("rows", "added", "updated", "skipped", "rejected")


@dataclass(frozen=True)
class ImportParams:
    """What the person importing declares, kept with the job until it runs."""

    basis: str = ""
    implied_by: str = ""
    mode: str = "upsert"
    fmt: str = "csv"
    encoding: str = "utf-8"
    mapping: dict[str, str] = field(default_factory=dict)
    wording: str = ""
    wording_version: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportParams:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def job_dir(a: App, job_id: int) -> Path:
    return a.settings.data_dir / "uploads" / f"job-{job_id}"


def upload_path(a: App, job_id: int) -> Path:
    return job_dir(a, job_id) / "upload"


def errors_path(a: App, job_id: int) -> Path:
    return job_dir(a, job_id) / "errors.csv"


def display_name(raw: str | None) -> str:
    """The file's own name without any directory a browser or client put before it."""
    text = (raw or "").replace("\x00", "")
    name = PureWindowsPath(PurePosixPath(text).name).name.strip()
    return name[:200] or "upload"


def guess_format(file_name: str, given: str = "") -> str:
    if given:
        if given not in ("csv", "jsonl"):
            raise InvalidInput(f"format must be csv or jsonl, not {given!r}")
        return given
    return "jsonl" if file_name.lower().endswith((".jsonl", ".ndjson")) else "csv"


def store_upload(
    a: App,
    source: BinaryIO,
    *,
    file_name: str,
    list_id: int,
    params: ImportParams,
    created_by: str,
) -> Job:
    """Save an uploaded file as a ``pending`` import job of ``list_id``."""
    _sweep_abandoned(a)
    with a.engine.begin() as conn:
        get_list(conn, list_id)
        job = create_job(
            conn, "import", state="pending", params=params.as_json(), created_by=created_by,
            now=a.clock.now(), list_id=list_id, file_name=display_name(file_name),
        )  # fmt: skip
    target = upload_path(a, job.id)
    size = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            while chunk := source.read(CHUNK):
                out.write(chunk)
                size += len(chunk)
        if size == 0:
            raise InvalidInput("the uploaded file is empty")
    except BaseException:
        discard(a, job.id)
        raise
    with a.engine.begin() as conn:
        update_job(conn, job.id, total=size)
        return get_job(conn, job.id, "import")


def discard(a: App, job_id: int) -> None:
    """Remove an import that will never run (refused, abandoned) and its files."""
    shutil.rmtree(job_dir(a, job_id), ignore_errors=True)
    with a.engine.begin() as conn:
        delete_job(conn, job_id)


def _sweep_abandoned(a: App) -> None:
    with a.engine.connect() as conn:
        old = stale_pending(conn, before=a.clock.now() - PENDING_TTL)
    for job in old:
        discard(a, job.id)


def preview_upload(a: App, job: Job, encoding: str | None = None) -> Preview:
    """Columns and sample values of a stored upload."""
    params = ImportParams.from_json(job.params)
    path = upload_path(a, job.id)
    if not path.exists():
        raise ConflictError(f"the file of import {job.id} is no longer stored; upload it again")
    fmt: Format = "jsonl" if params.fmt == "jsonl" else "csv"
    return preview(path, fmt=fmt, encoding=encoding or params.encoding)


def check_params(params: ImportParams, columns: Preview) -> ImportParams:
    """The declarations and mapping, checked before the import is queued."""
    if not params.basis:
        raise InvalidInput(
            "declare the lawful basis of this import (consent or soft_opt_in): how did these "
            "people agree to be mailed?"
        )
    check_basis(params.basis)
    if params.basis == "soft_opt_in" and params.implied_by not in ("purchase", "inquiry"):
        raise InvalidInput(
            "soft opt-in needs its source: purchase (valid 2 years) or inquiry (6 months)"
        )
    if params.basis == "consent" and params.implied_by:
        raise InvalidInput("implied_by only applies to the soft_opt_in basis")
    if params.mode not in ("upsert", "skip_existing"):
        raise InvalidInput(f"mode must be upsert or skip_existing, not {params.mode!r}")
    try:
        codecs.lookup(params.encoding)
    except LookupError:
        raise InvalidInput(f"unknown encoding {params.encoding!r}") from None
    names = set(columns.names)
    for column, target in params.mapping.items():
        if column not in names:
            raise InvalidInput(f"the mapping names a column {column!r} the file does not have")
        if target not in FIELDS and target != "ignore" and not target.startswith("attr:"):
            raise InvalidInput(
                f"column {column!r} maps to {target!r}; use one of {', '.join(FIELDS)}, "
                "attr:NAME or ignore"
            )
        if target.startswith("attr:") and not target[5:].strip():
            raise InvalidInput(f"column {column!r}: an attribute needs a name (attr:NAME)")
    targets = [params.mapping.get(c.name, c.guess) for c in columns.columns]
    if targets.count("email") != 1:
        found = "no column" if "email" not in targets else "more than one column"
        raise InvalidInput(f"{found} maps to email; map exactly one column to email")
    return params


def start_import(a: App, runner: JobRunner, job_id: int, params: ImportParams) -> Job:
    """Check the declarations against the stored file and queue the import."""
    with a.engine.connect() as conn:
        job = get_job(conn, job_id, "import")
    if job.state != "pending":
        raise ConflictError(f"import {job_id} has already been started ({job.state})")
    check_params(params, preview_upload(a, job, params.encoding))
    with a.engine.begin() as conn:
        update_job(conn, job_id, state="queued", params=params.as_json())
    try:
        runner.submit(job_id, lambda ctx: run_import(a, job_id, ctx))
    except ConflictError:
        with a.engine.begin() as conn:  # still pending: it can be started again later
            update_job(conn, job_id, state="pending")
        raise
    with a.engine.connect() as conn:
        return get_job(conn, job_id, "import")


def cancel_import(a: App, job_id: int) -> Job:
    """Cancel an import. One that had not started yet loses its upload at once; a running
    one stops at its next batch (and deletes its upload itself)."""
    with a.engine.begin() as conn:
        job = request_cancel(conn, job_id, "import", now=a.clock.now())
    if job.state == "cancelled":
        upload_path(a, job_id).unlink(missing_ok=True)
    return job


def run_import(a: App, job_id: int, ctx: JobContext) -> dict[str, Any]:
    """The background task: import the stored upload, then delete it."""
    with a.engine.connect() as conn:
        job = get_job(conn, job_id, "import")
        if job.list_id is None:
            raise InvalidInput("the list of this import was deleted")
        ml = get_list(conn, job.list_id)
    p = ImportParams.from_json(job.params)
    options = ImportOptions(
        mailing_list=ml, lawful_basis=p.basis, mode=p.mode,  # type: ignore[arg-type]
        fmt="jsonl" if p.fmt == "jsonl" else "csv", encoding=p.encoding, mapping=p.mapping,
        wording=p.wording or None, wording_version=p.wording_version or None,
        implied_by=p.implied_by or None,  # type: ignore[arg-type]
        batch_size=a.settings.import_batch_size,
    )  # fmt: skip
    ctx.set_partial(lambda: _counts_of(a, job_id))
    try:
        report = import_file(
            a.engine, upload_path(a, job_id), options, now=a.clock.now(),
            error_path=errors_path(a, job_id), on_bytes=ctx.advance,
        )  # fmt: skip
    finally:
        upload_path(a, job_id).unlink(missing_ok=True)
    with a.engine.begin() as conn:
        update_job(conn, job_id, import_id=report.import_id)
    return {k: getattr(report, k) for k in COUNTS} | {"import_id": report.import_id}


def _counts_of(a: App, job_id: int) -> dict[str, Any]:
    with a.engine.connect() as conn:
        return import_counts(conn, a, job_id)


def import_counts(conn: Connection, a: App, job_id: int) -> dict[str, Any]:
    """Rows added, updated, skipped and rejected so far by the import of ``job_id``."""
    row = conn.execute(
        select(audience_imports).where(audience_imports.c.error_file == str(errors_path(a, job_id)))
    ).first()
    if row is None:
        return {}
    m = row._mapping
    return {
        "import_id": m["id"], "added": m["added"], "updated": m["updated"],
        "skipped": m["skipped"], "rejected": m["rejected"], "last_line": m["last_line"],
    }  # fmt: skip


@dataclass(frozen=True)
class ImportView:
    """An import job as pages and the API show it: the job, its counts, its error file."""

    job: Job
    params: ImportParams
    counts: dict[str, Any]
    has_errors: bool


def _view(conn: Connection, a: App, job: Job) -> ImportView:
    live = import_counts(conn, a, job.id) if job.active or not job.result else {}
    counts = {k: 0 for k in COUNTS} | (job.result or {}) | live
    return ImportView(
        job=job, params=ImportParams.from_json(job.params), counts=counts,
        has_errors=errors_path(a, job.id).is_file(),
    )  # fmt: skip


def view_import(a: App, job_id: int) -> ImportView:
    with a.engine.begin() as conn:
        sweep_interrupted(conn, now=a.clock.now())
        return _view(conn, a, get_job(conn, job_id, "import"))


def import_views(
    a: App,
    *,
    limit: int,
    after: int = 0,
    list_id: int | None = None,
    state: JobState | None = None,
    newest_first: bool = False,
) -> list[ImportView]:
    with a.engine.begin() as conn:
        sweep_interrupted(conn, now=a.clock.now())
        jobs = job_page(
            conn, "import", limit=limit, after=after, list_id=list_id, state=state,
            newest_first=newest_first,
        )  # fmt: skip
        return [_view(conn, a, j) for j in jobs]
