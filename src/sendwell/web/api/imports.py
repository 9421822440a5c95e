"""``/api/v1/imports``: upload a CSV or JSON Lines file of subscribers and import it in the
background (``sendwell subscribers import`` over HTTP).

``POST /imports`` is ``multipart/form-data``: the file plus the declarations the command
line asks for (list, lawful basis, mapping, ...). It answers 202 with the queued import;
poll ``GET /imports/{id}`` for its state, bytes read and rows added, updated, skipped and
rejected so far; ``GET /imports/{id}/errors`` downloads every row not imported with its
line and reason. Reading needs ``subscribers:read``, uploading and cancelling
``subscribers:write``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from sendwell.accounts.tokens import ApiToken
from sendwell.app import App
from sendwell.errors import InvalidInput, NotFound
from sendwell.web.api.common import ERRORS, MAX_ID, NO_NUL, Page, Paging, next_cursor, paging
from sendwell.web.auth import get_app, get_runner, require_scope
from sendwell.web.imports import (
    ImportParams,
    ImportView,
    cancel_import,
    discard,
    errors_path,
    guess_format,
    import_views,
    start_import,
    store_upload,
    view_import,
)
from sendwell.web.jobs import JobState
from sendwell.web.runner import JobRunner

router = APIRouter(tags=["imports"], responses=ERRORS)
READ = [Depends(require_scope("subscribers:read"))]
ImportId = Path(ge=1, le=MAX_ID)
State = Literal["pending", "queued", "running", "finished", "failed", "cancelled"]


class ImportCounts(BaseModel):
    rows: int = Field(0, description="Records read (final once the import has ended).")
    added: int = 0
    updated: int = 0
    skipped: int = Field(0, description="Suppressed, or existing with mode skip_existing.")
    rejected: int = Field(0, description="Invalid or duplicate rows (see the error file).")


class ImportOut(BaseModel):
    id: int
    state: State
    list_id: int | None
    file_name: str | None
    format: Literal["csv", "jsonl"]
    basis: str
    mode: str
    mapping: dict[str, str]
    bytes_total: int = Field(description="Size of the uploaded file.")
    bytes_read: int = Field(description="How far the import has read.")
    percent: int
    counts: ImportCounts
    error: str | None = Field(description="Why the import failed, when it did.")
    errors_url: str | None = Field(description="The error file, once rows were written to it.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def import_out(v: ImportView) -> ImportOut:
    j = v.job
    return ImportOut(
        id=j.id, state=j.state, list_id=j.list_id, file_name=j.file_name,
        format="jsonl" if v.params.fmt == "jsonl" else "csv", basis=v.params.basis,
        mode=v.params.mode, mapping=v.params.mapping, bytes_total=j.total,
        bytes_read=j.total if j.state == "finished" else j.done, percent=j.percent,
        counts=ImportCounts(**{k: int(v.counts.get(k) or 0) for k in ImportCounts.model_fields}),
        error=j.error, errors_url=f"/api/v1/imports/{j.id}/errors" if v.has_errors else None,
        created_at=j.created_at, started_at=j.started_at, finished_at=j.finished_at,
    )  # fmt: skip


def _mapping(text: str) -> dict[str, str]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"mapping is not valid JSON: {exc}") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidInput(
            'mapping is a JSON object of column names to fields: {"E-Mail": "email"}'
        )
    return value


@router.get("/imports", dependencies=READ)
def list_imports(
    page: Paging = Depends(paging),
    list_id: int | None = Query(None, ge=1, le=MAX_ID, description="Only imports into this list."),
    state: State | None = Query(None, description="Only imports in this state."),
    a: App = Depends(get_app),
) -> Page[ImportOut]:
    """Imports by id, oldest first."""
    st: JobState | None = state
    views = import_views(a, limit=page.limit, after=page.after, list_id=list_id, state=st)
    return Page(
        items=[import_out(v) for v in views],
        next_cursor=next_cursor([v.job.id for v in views], page.limit),
    )


@router.post("/imports", status_code=202)
def post_import(
    file: UploadFile = File(..., description="CSV with a header row, or JSON Lines."),
    list_id: int = Form(..., ge=1, le=MAX_ID, description="The list to import into."),
    basis: Literal["consent", "soft_opt_in"] = Form(
        ..., description="Lawful basis of the whole file; an import without one is refused."
    ),
    implied_by: Literal["purchase", "inquiry"] | None = Form(
        None, description="For soft_opt_in: purchase (valid 2 years) or inquiry (6 months)."
    ),
    mode: Literal["upsert", "skip_existing"] = Form(
        "upsert", description="upsert updates existing subscribers; skip_existing leaves them."
    ),
    format: Literal["csv", "jsonl"] | None = Form(
        None, description="Default: from the file name (.jsonl/.ndjson, else CSV)."
    ),
    encoding: str = Form("utf-8", max_length=40, pattern=NO_NUL, description="e.g. cp1252."),
    mapping: str = Form(
        "",
        max_length=100_000,
        pattern=NO_NUL,
        description='JSON object COLUMN -> FIELD: {"E-Mail": "email", "Plan": "attr:plan", '
        '"Notes": "ignore"}; FIELD one of email, first_name, last_name, consent_source, '
        "consent_ip, consent_at, attr:NAME, ignore. Unmapped columns go by their header.",
    ),
    wording: str = Form("", max_length=5000, pattern=NO_NUL, description="Consent wording."),
    wording_version: str = Form("", max_length=50, pattern=NO_NUL),
    token: ApiToken = Depends(require_scope("subscribers:write")),
    a: App = Depends(get_app),
    runner: JobRunner = Depends(get_runner),
) -> ImportOut:
    """Upload a file and queue its import; the declarations are checked first (422)."""
    name = file.filename or "upload"
    params = ImportParams(
        basis=basis, implied_by=implied_by or "", mode=mode, fmt=guess_format(name, format or ""),
        encoding=encoding.strip() or "utf-8", mapping=_mapping(mapping), wording=wording,
        wording_version=wording_version,
    )  # fmt: skip
    job = store_upload(
        a, file.file, file_name=name, list_id=list_id, params=params,
        created_by=f"token:{token.id}",
    )  # fmt: skip
    try:
        start_import(a, runner, job.id, params)
    except BaseException:
        discard(a, job.id)
        raise
    return import_out(view_import(a, job.id))


@router.get("/imports/{import_id}", dependencies=READ)
def get_one(import_id: int = ImportId, a: App = Depends(get_app)) -> ImportOut:
    """One import: state, progress and counts so far."""
    return import_out(view_import(a, import_id))


@router.get(
    "/imports/{import_id}/errors",
    dependencies=READ,
    response_class=FileResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "line,reason,values rows."}},
)
def errors_file(import_id: int = ImportId, a: App = Depends(get_app)) -> Any:
    """Every row not imported, with its line number and reason (CSV, formula-safe)."""
    view_import(a, import_id)
    path = errors_path(a, import_id)
    if not path.is_file():
        raise NotFound(f"import {import_id} has no error file (yet)")
    return FileResponse(
        path, media_type="text/csv; charset=utf-8",
        filename=f"import-{import_id}-errors.csv",
    )  # fmt: skip


@router.post(
    "/imports/{import_id}/cancel", dependencies=[Depends(require_scope("subscribers:write"))]
)
def cancel(import_id: int = ImportId, a: App = Depends(get_app)) -> ImportOut:
    """Stop an import: rows already written stay (re-running the file is safe)."""
    cancel_import(a, import_id)
    return import_out(view_import(a, import_id))
