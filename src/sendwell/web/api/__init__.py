"""The REST API under ``/api/v1``: one router per area, bearer-token authenticated.

Every collection pages with ``limit`` (1-500, default 50) and an opaque ``cursor`` (the
``next_cursor`` of the previous page; absent on the last page), and filters with query
parameters. Errors use the one JSON shape of :mod:`sendwell.web.errors`.
"""

from __future__ import annotations

from fastapi import APIRouter

from sendwell.web.api import campaigns, lists, subscribers, suppressions


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    for module in (lists, subscribers, suppressions, campaigns):
        router.include_router(module.router)
    return router
