"""Admin page for suppressions: find, add and lift addresses that are never mailed.

Suppressions are stored by address hash, so the page lists hashes; searching for an
address shows that address's rows. Lifting never removes an erasure (``audience``
keeps the hash of people who asked to be forgotten).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from sendwell.app import App
from sendwell.audience.addresses import normalize
from sendwell.audience.lists import all_lists, get_list
from sendwell.audience.suppressions import (
    REASONS,
    check_reason,
    parse_expiry,
    suppress,
    unsuppress,
)
from sendwell.errors import InvalidInput, NotFound
from sendwell.web.api.common import MAX_ID
from sendwell.web.auth import check_csrf, current_session, get_app
from sendwell.web.queries import suppression_page
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()
PAGE_SIZE = 100
MANUAL_REASONS = tuple(r for r in REASONS if r != "erased")
NOTICES = {
    "added": "is now suppressed.",
    "already": "was already suppressed.",
    "lifted": "is no longer suppressed in that scope.",
    "none": "had nothing to lift in that scope (not suppressed there, or erased).",
}


def _done(email: str, notice: str) -> Response:
    """Back to the page after a change (a reload does not post again)."""
    query = urlencode({"email": normalize(email).email, "notice": notice})
    return RedirectResponse(f"/admin/suppressions?{query}", status_code=303)


def _page(
    request: Request, session: Session, a: App, *, email: str = "", reason: str = "",
    list_id: int | None = None, after: int = 0, message: str = "", error: str = "",
    status: int = 200,
) -> Response:  # fmt: skip
    email_hash = None
    if email.strip():
        try:
            email_hash = normalize(email).hash
        except InvalidInput as exc:
            error, status = error or str(exc), 422
    with a.engine.connect() as conn:
        rows = [] if error and email.strip() else suppression_page(
            conn, limit=PAGE_SIZE, after=after, reason=reason or None, email_hash=email_hash,
            list_id=list_id,
        )  # fmt: skip
        lists = all_lists(conn)
    more = rows[-1].id if len(rows) == PAGE_SIZE else None
    return render(
        request, "suppressions.html", session, status, rows=rows, email=email, reason=reason,
        list_id=list_id, lists=lists, names={ml.id: ml.name for ml, _ in lists},
        reasons=REASONS, manual_reasons=MANUAL_REASONS, more=more, message=message,
        error=error,
    )  # fmt: skip


@router.get("/suppressions")
def suppressions_page(
    request: Request,
    email: str = Query("", max_length=320),
    reason: str = Query("", max_length=20),
    list_id: int | None = Query(None, ge=1, le=MAX_ID),
    after: int = Query(0, ge=0, le=MAX_ID),
    notice: str = Query("", max_length=20),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    if reason and reason not in REASONS:
        reason = ""
    message = f"{email} {NOTICES[notice]}" if notice in NOTICES and email else ""
    return _page(
        request, session, a, email=email, reason=reason, list_id=list_id, after=after,
        message=message,
    )  # fmt: skip


@router.post("/suppressions")
def add(
    request: Request,
    email: str = Form("", max_length=320),
    reason: str = Form("manual", max_length=20),
    list_id: str = Form("", max_length=20),
    detail: str = Form("", max_length=1000),
    expires: str = Form("", max_length=40),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    try:
        scope = int(list_id) if list_id.isdigit() else None
        with a.engine.begin() as conn:
            if scope is not None:
                get_list(conn, scope)
            added = suppress(
                conn, email, reason=check_reason(reason), now=a.clock.now(), list_id=scope,
                detail=detail.strip(), expires_at=parse_expiry(expires, "lapse date"),
            )  # fmt: skip
    except (InvalidInput, NotFound) as exc:
        return _page(request, session, a, error=str(exc), status=422)
    return _done(email, "added" if added else "already")


@router.post("/suppressions/remove")
def remove(
    request: Request,
    email: str = Form("", max_length=320),
    list_id: str = Form("", max_length=20),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    try:
        scope = int(list_id) if list_id.isdigit() else None
        with a.engine.begin() as conn:
            removed = unsuppress(conn, email, list_id=scope)
    except InvalidInput as exc:
        return _page(request, session, a, error=str(exc), status=422)
    return _done(email, "lifted" if removed else "none")
