"""The admin UI's router: sign-in and sign-out here, the pages in sibling modules.

Every page needs a session (else a redirect to ``/admin/login``); every state-changing
post needs the session's CSRF token. After sign-in the browser goes back to the page it
came from, but only if that is an ``/admin`` path on this site (no open redirect).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from sendwell.accounts.users import authenticate
from sendwell.app import App
from sendwell.web import (
    admin_audience,
    admin_campaign_content,
    admin_campaign_setup,
    admin_campaigns,
    admin_domains,
    admin_imports,
    admin_privacy,
    admin_reports,
    admin_segments,
    admin_settings,
    admin_suppressions,
    admin_templates,
    admin_verification,
)
from sendwell.web.auth import check_csrf, client_ip, get_app, optional_session
from sendwell.web.errors import WebError
from sendwell.web.ratelimit import clear, count_attempt, over_limit
from sendwell.web.sessions import COOKIE, Session, end_session, start_session
from sendwell.web.templating import render

LOGIN_CSRF_COOKIE = "sendwell_login_csrf"
HOME = "/admin/"
IP_LIMIT_FACTOR = 10  # failed sign-ins per IP, as a multiple of the per-user limit
PAGES = (
    admin_audience, admin_privacy, admin_imports, admin_segments, admin_verification,
    admin_suppressions,
    # The wizard's routes before admin_campaigns' catch-all /campaigns/{id}/{action}.
    admin_templates, admin_campaign_setup, admin_campaign_content, admin_campaigns,
    admin_reports, admin_domains, admin_settings,
)  # fmt: skip


def safe_next(target: str) -> str:
    """Only admin paths on this site: anything else (``//evil``, ``https://...``) goes home."""
    parts = urlsplit(target)
    if (
        parts.scheme or parts.netloc or not target.startswith("/admin")
        or "\\" in target or any(ord(ch) < 32 for ch in target)
    ):  # fmt: skip
        return HOME
    return target


def _secure(a: App) -> bool:
    return a.settings.public_url.startswith("https://")


def build_router() -> APIRouter:
    router = APIRouter(prefix="/admin", include_in_schema=False)

    @router.get("/login")
    def login_form(
        request: Request, next: str = Query(HOME, max_length=2000), a: App = Depends(get_app)
    ) -> Response:
        if optional_session(request) is not None:
            return RedirectResponse(safe_next(next), status_code=303)
        return _login_page(request, a, next, "", 200)

    @router.post("/login")
    def login(
        request: Request,
        email: str = Form("", max_length=320),
        password: str = Form("", max_length=1000),
        csrf_token: str = Form(""),
        next: str = Form(HOME, max_length=2000),
        a: App = Depends(get_app),
    ) -> Response:
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie.encode(), csrf_token.encode()):
            raise WebError(403, "csrf_failed", "the sign-in form expired; please try again")
        s = a.settings
        ip = client_ip(request)
        key = f"login:{ip}:{email.strip().lower()}"
        # Guessing across many addresses from one IP meets a wider limit of its own.
        ip_key, ip_limit = f"login-ip:{ip}", s.web_login_max_failures * IP_LIMIT_FACTOR
        window = s.web_login_window_seconds
        now = a.clock.now()
        with a.engine.begin() as conn:
            if over_limit(
                conn, key, now=now, limit=s.web_login_max_failures, window_seconds=window
            ) or over_limit(conn, ip_key, now=now, limit=ip_limit, window_seconds=window):
                raise WebError(
                    429, "too_many_requests", "too many failed sign-ins; try again later",
                    {"Retry-After": str(s.web_login_window_seconds)},
                )  # fmt: skip
            user = authenticate(conn, email, password, now=now)
            if user is None:
                count_attempt(conn, key, now=now, window_seconds=window)
                count_attempt(conn, ip_key, now=now, window_seconds=window)
            else:
                clear(conn, key)
                token = start_session(conn, user.id, now=now, hours=s.web_session_hours)
        if user is None:
            return _login_page(request, a, next, "Wrong email address or password.", 401)
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie(
            COOKIE, token, max_age=int(s.web_session_hours * 3600), httponly=True,
            samesite="lax", secure=_secure(a), path="/",
        )  # fmt: skip
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin")
        return response

    @router.post("/logout")
    def logout(
        request: Request, session: Session = Depends(check_csrf), a: App = Depends(get_app)
    ) -> Response:
        with a.engine.begin() as conn:
            end_session(conn, request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    for module in PAGES:
        router.include_router(module.router)
    return router


def _login_page(request: Request, a: App, next: str, error: str, status: int) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request, "login.html", None, status, next=safe_next(next), error=error, login_csrf=token
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(a),
        path="/admin",
    )  # fmt: skip
    return response
