"""``create_app``: the FastAPI application of one sendwell instance.

Wires, from an opened :class:`sendwell.app.App` (kept in ``app.state.sendwell``; there
is no global):

* ``/api/v1/...`` — the REST API, schema at ``/api/v1/openapi.json`` (no hosted docs UI:
  sendwell loads nothing from a CDN);
* ``/admin/...`` — the server-rendered admin UI, ``/static/...`` its CSS and script;
* ``/subscribe/...`` — public pages; the tracking engineer's ``sendwell.web.tracking``
  router (pixel, clicks, unsubscribe, preferences) when that module is present;
* ``/webhooks/{ses,sendgrid,mailgun,postmark}`` — provider feedback;
* ``/healthz`` — liveness for load balancers.

Request bodies larger than ``web_max_body_bytes`` (import uploads:
``web_max_upload_bytes``) are refused with 413 and every response carries conservative
security headers (:mod:`sendwell.web.middleware`). Background jobs (imports, list
verifications) run on the :class:`~sendwell.web.runner.JobRunner` kept in
``app.state.sendwell_jobs``; it stops with the application's lifespan (or
:func:`close_app` where no lifespan runs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from sendwell.app import App
from sendwell.web import admin, errors, public, tracking, webhooks
from sendwell.web.api import build_router
from sendwell.web.front import TrackingFront
from sendwell.web.middleware import WebMiddleware
from sendwell.web.runner import JobRunner
from sendwell.web.templating import STATIC_DIR, build_templates

API_DESCRIPTION = """The sendwell REST API. Authenticate with `Authorization: Bearer <token>`
(`sendwell tokens create --scope campaigns:write ...`). Collections page with `limit` and
`cursor`; every error is `{"error": {"code": ..., "message": ...}}`."""


UPLOAD_PATHS = frozenset({"/api/v1/imports", "/admin/imports"})


class _Web(FastAPI):
    """FastAPI with :class:`~sendwell.web.front.TrackingFront` as its outermost layer."""

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return TrackingFront(stack, owner=self, routes=tracking.FAST_ROUTES)


def create_app(app: App) -> FastAPI:
    """The ASGI application serving ``app``'s database with its settings and clock."""

    @asynccontextmanager
    async def lifespan(web: FastAPI) -> AsyncIterator[None]:
        yield
        close_app(web)

    web = _Web(
        title="sendwell",
        version="1",
        description=API_DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    web.state.sendwell = app
    web.state.templates = build_templates()
    web.state.sendwell_jobs = JobRunner(app, workers=app.settings.web_background_jobs)
    errors.install(web)
    web.add_middleware(
        WebMiddleware,
        max_body_bytes=app.settings.web_max_body_bytes,
        max_upload_bytes=app.settings.web_max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    # Tracking first: opens and clicks are most of the traffic, and Starlette tries routes
    # in order, so every pixel would otherwise be matched against the whole API first.
    web.include_router(tracking.router)
    web.include_router(build_router())
    web.include_router(admin.build_router())
    web.include_router(public.router)
    web.include_router(webhooks.router)
    web.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @web.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/admin/", status_code=303)

    @web.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return web


def close_app(web: FastAPI) -> None:
    """Stop the background jobs of an application made by :func:`create_app`."""
    runner: JobRunner = web.state.sendwell_jobs
    runner.close()
