"""Admin pages for settings (read-only) and users (add, reset a password, remove).

Settings are shown as in force in this web process, secrets as stars, each with where
its value came from. They are not edited here: they are read from ``SENDWELL_*``
variables and ``sendwell.toml`` when each process starts (web, workers, inbound), so an
edit in one web process would not reach the others and could not outrank the
environment; the page says where to change each one instead.

Users: every user can manage users (there are no roles yet). Removing a user or
resetting their password ends their sessions; a user cannot remove themselves (so
nobody locks themselves out by accident) and the last user cannot be removed.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from sendwell.accounts.users import (
    all_users,
    create_user,
    remove_user,
    require_user,
    reset_password,
)
from sendwell.app import App
from sendwell.errors import ConflictError, InvalidInput, NotFound
from sendwell.web.api.common import MAX_ID
from sendwell.web.auth import check_csrf, current_session, get_app
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()
UserId = Path(ge=1, le=MAX_ID)
NOTICES = {
    "added": "User added.",
    "password": "Password changed; that user's other sessions have ended.",
    "removed": "User removed; their sessions have ended.",
}


@router.get("/settings")
def settings_page(
    request: Request, session: Session = Depends(current_session), a: App = Depends(get_app)
) -> Response:
    config = str(a.settings.data_dir)
    return render(request, "settings.html", session, rows=a.effective_settings(), data_dir=config)


def _users_page(
    request: Request, session: Session, a: App, *, notice: str = "", error: str = "",
    status: int = 200,
) -> Response:  # fmt: skip
    with a.engine.connect() as conn:
        rows = all_users(conn)
    return render(
        request, "users.html", session, status, rows=rows, me=session.user_id,
        message=NOTICES.get(notice, ""), error=error,
    )  # fmt: skip


def _done(notice: str) -> Response:
    return RedirectResponse(f"/admin/users?{urlencode({'notice': notice})}", status_code=303)


@router.get("/users")
def users_page(
    request: Request,
    notice: str = Query("", max_length=20),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    return _users_page(request, session, a, notice=notice)


@router.post("/users")
def add_user(
    request: Request,
    email: str = Form("", max_length=320),
    password: str = Form("", max_length=1000),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    try:
        with a.engine.begin() as conn:
            create_user(conn, email, password, now=a.clock.now())
    except (InvalidInput, ConflictError) as exc:
        return _users_page(request, session, a, error=str(exc), status=422)
    return _done("added")


@router.post("/users/{user_id}/password")
def set_password(
    request: Request,
    user_id: int = UserId,
    password: str = Form("", max_length=1000),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    mine = session.id if user_id == session.user_id else None
    try:
        with a.engine.begin() as conn:
            reset_password(conn, user_id, password, keep_session=mine)
    except InvalidInput as exc:
        return _users_page(request, session, a, error=str(exc), status=422)
    return _done("password")


@router.post("/users/{user_id}/remove")
def remove(
    request: Request,
    user_id: int = UserId,
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    if user_id == session.user_id:
        return _users_page(
            request, session, a, status=409,
            error="you cannot remove yourself; ask another user to do it",
        )  # fmt: skip
    try:
        with a.engine.begin() as conn:
            require_user(conn, user_id)
            remove_user(conn, user_id)
    except (ConflictError, NotFound) as exc:
        return _users_page(request, session, a, error=str(exc), status=409)
    return _done("removed")
