"""Who is asking: FastAPI dependencies for admin sessions, CSRF and API token scopes.

* Admin pages depend on :func:`current_session` (a valid session cookie, else a redirect
  to sign-in) and, for every state-changing post, :func:`check_csrf`.
* ``/api/v1`` routes depend on :func:`require_scope` (``Authorization: Bearer sw_...``
  with the scope the route needs; 401 without a valid token, 403 without the scope).

The sign-in form itself is protected by a double-submit cookie (there is no session yet
to hold a token) and by per-IP-and-user failure counting (``web_login_*`` settings).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Form, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sendwell.accounts.tokens import ApiToken, check_token
from sendwell.app import App
from sendwell.web.errors import LoginRequired, WebError
from sendwell.web.runner import JobRunner
from sendwell.web.sessions import COOKIE, Session, csrf_ok, find_session

bearer = HTTPBearer(auto_error=False, description="An API token: `sendwell tokens create`.")


def get_app(request: Request) -> App:
    app: App = request.app.state.sendwell
    return app


def get_runner(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.sendwell_jobs
    return runner


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def optional_session(request: Request) -> Session | None:
    token = request.cookies.get(COOKIE, "")
    if not token:
        return None
    a = get_app(request)
    with a.engine.connect() as conn:
        return find_session(conn, token, now=a.clock.now())


def current_session(request: Request) -> Session:
    session = optional_session(request)
    if session is None:
        raise LoginRequired()
    return session


def check_csrf(
    session: Session = Depends(current_session),
    csrf_token: str = Form("", description="The session's CSRF token."),
) -> Session:
    if not csrf_ok(session, csrf_token):
        raise WebError(403, "csrf_failed", "the form's security token is missing or stale")
    return session


def require_scope(scope: str) -> Callable[..., ApiToken]:
    """A dependency that admits a bearer token holding ``scope``."""

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> ApiToken:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise WebError(
                401, "unauthorized", "an API token is required (Authorization: Bearer ...)",
                {"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        a = get_app(request)
        with a.engine.begin() as conn:
            token = check_token(conn, credentials.credentials, now=a.clock.now())
        if token is None:
            raise WebError(
                401, "unauthorized", "the API token is unknown or revoked",
                {"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        if not token.allows(scope):
            raise WebError(403, "forbidden", f"the API token lacks the {scope} scope")
        return token

    return dependency
