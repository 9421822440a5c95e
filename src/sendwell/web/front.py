"""The outermost ASGI layer: the open pixel and click redirect go straight to their routes.

Opens and clicks are most of a sending platform's web traffic and the cheapest requests
it serves, yet inside FastAPI each one crossed about ten layers (error and telemetry
middleware, body limits, exception handling, exit stacks, the router's match loop over
every route) that cost more CPU than the request's own work: a profile under load showed
a third of the server's time there. :class:`TrackingFront` matches ``GET``/``HEAD`` on
``/o/`` and ``/c/`` against the two tracking routes first and runs the matching one
directly, with the same security headers as every other response; everything else —
other methods, other paths, a path under ``/o/`` that is not a pixel — goes through the
whole application as before, which also gives it the usual 404/405 answers.

The handlers never raise for bad input (a forged token is a 404 they build themselves);
an unexpected exception reaches the server, which answers 500 and logs it, as the full
stack would.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from sendwell.web.middleware import with_security_headers

FAST_METHODS = frozenset({"GET", "HEAD"})
FAST_PREFIXES = ("/o/", "/c/")


class TrackingFront:
    """Serve ``routes`` for matching GET/HEAD requests; hand everything else to ``app``."""

    def __init__(self, app: ASGIApp, *, owner: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.owner = owner  # what handlers see as ``request.app`` (its ``state``)
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in FAST_METHODS
            and scope["path"].startswith(FAST_PREFIXES)
        ):
            for route in self.routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope = {**scope, **child, "app": self.owner}
                    await route.handle(scope, receive, with_security_headers(send))
                    return
        await self.app(scope, receive, send)
