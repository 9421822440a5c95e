"""Public pages: the subscribe form (hosted and embeddable) and double opt-in confirmation.

* ``GET /subscribe/{list_id}`` — a hosted form; ``GET /subscribe/{list_id}/snippet`` the
  HTML snippet to paste into any site (a plain form posting here, no script).
* ``POST /subscribe/{list_id}`` — subscribes through ``audience.optin.subscribe`` with
  evidence (IP, user agent, wording). Spam protection: a honeypot field (``website``,
  hidden from people; a filled one is answered with the same thank-you page and ignored)
  and a per-IP limit (``web_subscribe_max_per_hour``). No account enumeration: new,
  existing, unconfirmed and suppressed addresses all get the same page.
* ``GET /confirm/{token}`` — the link of the confirmation message (``audience.optin``).

Cross-site posts to the subscribe endpoint are the point of an embeddable form, so it has
no CSRF token; it can only ever add an unconfirmed subscription on double opt-in lists.
Unsubscribe, preferences and view-in-browser pages are in ``web.tracking``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from sendwell.app import App
from sendwell.audience.consent import Evidence
from sendwell.audience.lists import get_list
from sendwell.audience.optin import confirm, subscribe
from sendwell.audience.records import NewSubscriber
from sendwell.errors import InvalidInput
from sendwell.web.api.common import MAX_ID
from sendwell.web.auth import client_ip, get_app
from sendwell.web.errors import WebError
from sendwell.web.ratelimit import count_attempt, over_limit
from sendwell.web.templating import render

router = APIRouter(include_in_schema=False)
WORDING = "Yes, send me {list} by email. I can unsubscribe at any time."
WORDING_VERSION = "1"
HOUR = 3600


def _wording(list_name: str) -> str:
    return WORDING.format(list=list_name)


@router.get("/subscribe/{list_id}")
def subscribe_page(
    request: Request, list_id: int = Path(ge=1, le=MAX_ID), a: App = Depends(get_app)
) -> Response:
    with a.engine.connect() as conn:
        ml = get_list(conn, list_id)
    return render(request, "subscribe.html", None, ml=ml, wording=_wording(ml.name), error="")


@router.get("/subscribe/{list_id}/snippet")
def subscribe_snippet(
    request: Request, list_id: int = Path(ge=1, le=MAX_ID), a: App = Depends(get_app)
) -> Response:
    """The embeddable form as text/plain, ready to paste into another site."""
    with a.engine.connect() as conn:
        ml = get_list(conn, list_id)
    templates = request.app.state.templates
    html = templates.get_template("subscribe_form.html").render(
        ml=ml, wording=_wording(ml.name), action=f"{a.settings.public_url.rstrip('/')}"
        f"/subscribe/{ml.id}",
    )  # fmt: skip
    return Response(html, media_type="text/plain; charset=utf-8")


@router.post("/subscribe/{list_id}")
def subscribe_post(
    request: Request,
    list_id: int = Path(ge=1, le=MAX_ID),
    email: str = Form("", max_length=320),
    first_name: str = Form("", max_length=200),
    website: str = Form("", max_length=1000, description="Honeypot: must stay empty."),
    a: App = Depends(get_app),
) -> Response:
    now = a.clock.now()
    ip = client_ip(request)
    key = f"subscribe:{ip}"
    with a.engine.begin() as conn:
        ml = get_list(conn, list_id)
        if over_limit(
            conn, key, now=now, limit=a.settings.web_subscribe_max_per_hour, window_seconds=HOUR
        ):
            raise WebError(429, "too_many_requests", "too many sign-ups from here; try later")
        count_attempt(conn, key, now=now, window_seconds=HOUR)
    if website:
        # A bot filled the hidden field: answer as if it worked, change nothing.
        return render(request, "subscribe_done.html", None, ml=ml)
    evidence = Evidence(
        source="form", source_ref=f"/subscribe/{ml.id}", ip=ip,
        user_agent=request.headers.get("user-agent", "")[:500] or None,
        wording=_wording(ml.name), wording_version=WORDING_VERSION, lawful_basis="consent",
    )  # fmt: skip
    try:
        with a.engine.begin() as conn:
            subscribe(conn, NewSubscriber(email, first_name.strip() or None), ml, evidence, now=now)
    except InvalidInput as exc:
        return render(
            request, "subscribe.html", None, 422, ml=ml, wording=_wording(ml.name), error=str(exc)
        )
    return render(request, "subscribe_done.html", None, ml=ml)


@router.get("/confirm/{token}")
def confirm_page(
    request: Request, token: str = Path(max_length=200), a: App = Depends(get_app)
) -> Response:
    with a.engine.begin() as conn:
        result = confirm(
            conn, token, a.clock.now(), client_ip(request),
            request.headers.get("user-agent", "")[:500] or None, key=a.secret_key(),
        )  # fmt: skip
        ml = get_list(conn, result.list_id)
    return render(request, "confirmed.html", None, ml=ml, already=result.already)
