"""Admin pages for privacy requests: one person's data exported, or the person erased.

*Export* answers with a JSON download of everything held about an address
(``audience.privacy.export_person``). *Erase* takes two steps: the first post shows what
is held and asks for the address to be typed again; only the second, with it, erases
(``erase_person``: the address hash stays suppressed, the consent log records which user
asked). Both are posts, so addresses stay out of URLs and access logs, and both carry
the session's CSRF token. The subscriber page offers both for its subscriber.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from sendwell.app import App
from sendwell.audience.addresses import normalize
from sendwell.audience.privacy import erase_person, export_person
from sendwell.errors import InvalidInput, NotFound
from sendwell.web.auth import check_csrf, current_session, get_app
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()


@router.get("/privacy")
def privacy_page(
    request: Request, session: Session = Depends(current_session), a: App = Depends(get_app)
) -> Response:
    return render(request, "privacy.html", session, error="", email="")


@router.post("/privacy/export")
def export(
    request: Request,
    email: str = Form("", max_length=320),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    """Everything held about the address, as a JSON file."""
    try:
        with a.engine.connect() as conn:
            data = export_person(conn, email)
    except (InvalidInput, NotFound) as exc:
        status = 404 if isinstance(exc, NotFound) else 422
        return render(request, "privacy.html", session, status, error=str(exc), email=email)
    name = f"sendwell-export-{data['email_hash'][:12]}.json"
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"',
                 "Cache-Control": "no-store"},
    )  # fmt: skip


@router.post("/privacy/erase")
def erase(
    request: Request,
    email: str = Form("", max_length=320),
    confirm: str | None = Form(None, max_length=320),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    """First post: what is held, and the confirmation form. Second (with ``confirm``, the
    address typed again): the erasure."""
    try:
        address = normalize(email).email
        with a.engine.connect() as conn:
            held = export_person(conn, address)
    except (InvalidInput, NotFound) as exc:
        status = 404 if isinstance(exc, NotFound) else 422
        return render(request, "privacy.html", session, status, error=str(exc), email=email)
    if confirm is None or not _same(confirm, address):
        error = "" if confirm is None else "The address typed does not match; nothing was erased."
        return render(request, "privacy_erase.html", session, 200 if confirm is None else 422,
                      held=held, error=error, done=None)  # fmt: skip
    with a.engine.begin() as conn:
        done = erase_person(conn, address, now=a.clock.now(),
                            requested_by=f"admin {session.user_email}")  # fmt: skip
    return render(request, "privacy_erase.html", session, held=held, error="", done=done)


def _same(typed: str, address: str) -> bool:
    try:
        return normalize(typed).email == address
    except InvalidInput:
        return False
