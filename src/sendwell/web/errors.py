"""The one place where errors become HTTP responses.

Every :mod:`sendwell.errors` class maps to a status and a stable ``code``; request
validation errors and HTTP errors raised by the web layer itself (401, 403, 404 of an
unknown route, 413, 429) use the same shape. API and webhook clients get JSON::

    {"error": {"code": "not_found", "message": "no list with id 7"}}

A refused campaign start (``preflight_blocked``, 409) adds ``"blockers": [{"code",
"message", "fix"}, ...]`` to the error object; a template that does not pass the
save-time check (``template_error``, 422) adds ``"problems": [{"level", "part", "line",
"message"}, ...]``, one per error, ``line`` counted in the author's source.

Browsers on admin and public pages get the same code and message in an HTML page
(autoescaped). A signed-out browser asking for an admin page is redirected to sign in.
Anything unexpected is a 500 with a generic message; the details go to the log only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from sendwell import errors
from sendwell.domains.check import DnsCheckError

log = logging.getLogger(__name__)

# Most specific first: TemplateError is an InvalidInput, DnsCheckError a ConfigError.
STATUS: tuple[tuple[type[errors.SendwellError], int, str], ...] = (
    (errors.TemplateError, 422, "template_error"),
    (DnsCheckError, 502, "dns_unavailable"),
    (errors.InvalidInput, 422, "invalid_input"),
    (errors.NotFound, 404, "not_found"),
    (errors.PreflightBlocked, 409, "preflight_blocked"),
    (errors.ConflictError, 409, "conflict"),
    (errors.ServiceUnavailable, 503, "service_unavailable"),
    (errors.StorageError, 503, "storage_unavailable"),
    (errors.ConfigError, 500, "config_error"),
    (errors.DeliveryError, 502, "delivery_error"),
    (errors.SandboxError, 500, "sandbox_error"),
)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


class WebError(HTTPException):
    """An HTTP-level refusal with a stable code (bad credentials, missing scope, CSRF)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.code = code


class LoginRequired(Exception):
    """An admin page was asked for without a valid session: redirect to sign-in."""


def classify(exc: errors.SendwellError) -> tuple[int, str]:
    for cls, status, code in STATUS:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal_error"


def _wants_json(request: Request) -> bool:
    if request.url.path.startswith(("/api/", "/webhooks/")):
        return True
    return "text/html" not in request.headers.get("accept", "")


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    details: Mapping[str, Any] | None = None,
) -> Response:
    if _wants_json(request):
        body = {"error": {"code": code, "message": message, **(details or {})}}
        return JSONResponse(body, status_code=status, headers=headers)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "code": code, "message": message, "user": None, "csrf_token": ""},
        status_code=status,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(errors.SendwellError)
    async def _sendwell(request: Request, exc: errors.SendwellError) -> Response:
        status, code = classify(exc)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
            message = "the server could not complete the request" if status == 500 else str(exc)
        else:
            message = str(exc)
        details: dict[str, Any] | None = None
        if isinstance(exc, errors.TemplateError):
            # Each error with its part and line, so an editor can point at it.
            found = exc.problems or (("", None, str(exc)),)
            details = {
                "problems": [
                    {"level": "error", "part": part, "line": line, "message": text}
                    for part, line, text in found
                ]
            }
        elif isinstance(exc, errors.PreflightBlocked):
            # Each blocker with its fix, machine-readable (the message lists them too).
            details = {
                "blockers": [{"code": c, "message": m, "fix": f} for c, m, f in exc.blockers]
            }
        return error_response(request, status, code, message, details=details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else e.get("msg", ""))
        return error_response(request, 422, "validation_error", "; ".join(parts) or "invalid")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = getattr(exc, "code", None) or HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and not isinstance(exc, WebError):
            message = "no such page or resource"
        return error_response(request, exc.status_code, code, message, exc.headers)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"/admin/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(request, 500, "internal_error", "internal server error")
