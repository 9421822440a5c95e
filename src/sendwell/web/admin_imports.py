"""Admin pages for CSV / JSON Lines imports: upload, map columns, watch progress.

1. ``/admin/imports`` — the recent imports and the upload form (file, list, encoding).
   The upload is stored as a pending import (``web.imports``).
2. ``/admin/imports/{id}/mapping`` — every column with sample values and where it goes
   (guessed like the import does), the lawful basis and consent wording to declare. A
   different encoding can be previewed before starting.
3. ``/admin/imports/{id}`` — progress, polled from ``progress.json`` by ``jobs.js``
   (the page is complete without the script, just not live), counts, the error file,
   and a cancel button.

Every post carries the session's CSRF token; uploads are limited to
``web_max_upload_bytes`` by the middleware.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from sendwell.app import App
from sendwell.audience.import_preview import TARGETS, mapping_from_choices
from sendwell.audience.lists import all_lists
from sendwell.errors import InvalidInput, NotFound
from sendwell.web.api.common import MAX_ID
from sendwell.web.auth import check_csrf, current_session, get_app, get_runner
from sendwell.web.imports import (
    ImportParams,
    ImportView,
    cancel_import,
    errors_path,
    guess_format,
    import_views,
    preview_upload,
    start_import,
    store_upload,
    view_import,
)
from sendwell.web.runner import JobRunner
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()
ImportId = Path(ge=1, le=MAX_ID)
ENCODINGS = ("utf-8", "cp1252", "iso-8859-1", "iso-8859-15", "utf-16", "mac-roman")
LABELS = {
    "email": "Email address", "first_name": "First name", "last_name": "Last name",
    "consent_source": "Consent source", "consent_ip": "Consent IP address",
    "consent_at": "Consent date", "attribute": "Attribute (same name)", "ignore": "Ignore",
}  # fmt: skip


def progress_json(v: ImportView) -> dict[str, Any]:
    """What the progress page shows, for ``jobs.js``."""
    j = v.job
    counts = {k: int(v.counts.get(k) or 0) for k in ("added", "updated", "skipped", "rejected")}
    return {
        "state": j.state,
        "percent": j.percent,
        "done": j.done,
        "total": j.total,
        "counts": counts,
        "error": j.error or "",
        "errors_url": f"/admin/imports/{j.id}/errors.csv" if v.has_errors else "",
    }


@router.get("/imports")
def imports_page(
    request: Request, session: Session = Depends(current_session), a: App = Depends(get_app)
) -> Response:
    return _imports_page(request, session, a, "", 200)


def _imports_page(request: Request, session: Session, a: App, error: str, status: int) -> Response:
    views = import_views(a, limit=50, newest_first=True)
    with a.engine.connect() as conn:
        lists = all_lists(conn)
    return render(
        request, "imports.html", session, status, imports=views, lists=lists,
        encodings=ENCODINGS, error=error, limit=a.settings.web_max_upload_bytes,
    )  # fmt: skip


@router.post("/imports")
def upload(
    request: Request,
    file: UploadFile = File(...),
    list_id: int = Form(..., ge=1, le=MAX_ID),
    encoding: str = Form("utf-8", max_length=40),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    name = file.filename or "upload"
    try:
        params = ImportParams(fmt=guess_format(name), encoding=encoding.strip() or "utf-8")
        job = store_upload(
            a, file.file, file_name=name, list_id=list_id, params=params,
            created_by=f"user:{session.user_id}",
        )  # fmt: skip
    except (InvalidInput, NotFound) as exc:
        return _imports_page(request, session, a, str(exc), 422)
    return RedirectResponse(f"/admin/imports/{job.id}/mapping", status_code=303)


def _mapping_page(
    request: Request,
    session: Session,
    a: App,
    import_id: int,
    *,
    params: ImportParams | None = None,
    choices: list[str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    v = view_import(a, import_id)
    if v.job.state != "pending":
        return RedirectResponse(f"/admin/imports/{import_id}", status_code=303)
    params = params or v.params
    try:
        columns = preview_upload(a, v.job, params.encoding).columns
    except InvalidInput as exc:
        columns, error, status = (), error or str(exc), 422
    if choices is None or len(choices) != len(columns):
        choices = ["attribute" if c.guess.startswith("attr:") else c.guess for c in columns]
    with a.engine.connect() as conn:
        lists = dict((ml.id, ml) for ml, _ in all_lists(conn))
    return render(
        request, "import_mapping.html", session, status, v=v, params=params,
        rows=list(zip(columns, choices, strict=True)), targets=TARGETS, labels=LABELS,
        encodings=ENCODINGS, error=error, ml=lists.get(v.job.list_id or 0),
    )  # fmt: skip


@router.get("/imports/{import_id}/mapping")
def mapping_page(
    request: Request,
    import_id: int = ImportId,
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    return _mapping_page(request, session, a, import_id)


@router.post("/imports/{import_id}/start")
def start(
    request: Request,
    import_id: int = ImportId,
    columns: list[str] = Form([], alias="map", description="One choice per column, in order."),
    basis: str = Form("", max_length=20),
    implied_by: str = Form("", max_length=20),
    mode: str = Form("upsert", max_length=20),
    encoding: str = Form("utf-8", max_length=40),
    wording: str = Form("", max_length=5000),
    wording_version: str = Form("", max_length=50),
    action: str = Form("start", max_length=20),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
    runner: JobRunner = Depends(get_runner),
) -> Response:
    v = view_import(a, import_id)
    chosen = ImportParams(
        basis=basis, implied_by=implied_by if basis == "soft_opt_in" else "", mode=mode,
        fmt=v.params.fmt, encoding=encoding.strip() or "utf-8", wording=wording.strip(),
        wording_version=wording_version.strip(),
    )  # fmt: skip
    choices = [c[:40] for c in columns]
    if action == "preview":
        return _mapping_page(request, session, a, import_id, params=chosen, choices=choices)
    try:
        mapping = mapping_from_choices(preview_upload(a, v.job, chosen.encoding), choices)
        start_import(a, runner, import_id, replace(chosen, mapping=mapping))
    except InvalidInput as exc:
        return _mapping_page(
            request, session, a, import_id, params=chosen, choices=choices, error=str(exc),
            status=422,
        )  # fmt: skip
    return RedirectResponse(f"/admin/imports/{import_id}", status_code=303)


@router.get("/imports/{import_id}")
def import_page(
    request: Request,
    import_id: int = ImportId,
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    v = view_import(a, import_id)
    if v.job.state == "pending":
        return RedirectResponse(f"/admin/imports/{import_id}/mapping", status_code=303)
    with a.engine.connect() as conn:
        lists = dict((ml.id, ml) for ml, _ in all_lists(conn))
    return render(
        request, "import.html", session, v=v, progress=progress_json(v),
        ml=lists.get(v.job.list_id or 0),
    )  # fmt: skip


@router.get("/imports/{import_id}/progress.json")
def import_progress(
    import_id: int = ImportId,
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> dict[str, Any]:
    return progress_json(view_import(a, import_id))


@router.get("/imports/{import_id}/errors.csv")
def import_errors(
    import_id: int = ImportId,
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    view_import(a, import_id)
    path = errors_path(a, import_id)
    if not path.is_file():
        raise NotFound(f"import {import_id} has no error file (yet)")
    return FileResponse(
        path, media_type="text/csv; charset=utf-8", filename=f"import-{import_id}-errors.csv"
    )


@router.post("/imports/{import_id}/cancel")
def import_cancel(
    import_id: int = ImportId,
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    cancel_import(a, import_id)
    return RedirectResponse(f"/admin/imports/{import_id}", status_code=303)
