"""ASGI middleware: request body size limit and security headers on every response.

The size limit is enforced twice: a declared ``Content-Length`` over the limit is refused
before anything is read, and a chunked body is counted as it arrives and refused (413)
as soon as it passes the limit, so an upload without a length cannot exhaust memory.
Import uploads (``POST`` to one of ``upload_paths``) have a limit of their own
(``web_max_upload_bytes``); every other request has ``web_max_body_bytes``.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sendwell.web.errors import WebError, error_response

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


def with_security_headers(send: Send) -> Send:
    """``send``, adding :data:`SECURITY_HEADERS` to a response that lacks them."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                if name not in headers:
                    headers[name] = value
        await send(message)

    return send_with_headers


class WebMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_upload_bytes: int = 0,
        upload_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.body_limit = max_body_bytes
        self.upload_limit = max_upload_bytes or max_body_bytes
        self.upload_paths = upload_paths

    def _limit(self, scope: Scope) -> int:
        if scope.get("method") == "POST" and scope.get("path") in self.upload_paths:
            return self.upload_limit
        return self.body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        send_with_headers = with_security_headers(send)

        limit = self._limit(scope)
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > limit:
            response = error_response(
                Request(scope), 413, "payload_too_large", f"request body over {limit} bytes"
            )
            await response(scope, receive, send_with_headers)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise WebError(413, "payload_too_large", f"request body over {limit} bytes")
            return message

        await self.app(scope, counted, send_with_headers)
