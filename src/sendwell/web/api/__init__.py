"""The REST API under ``/api/v1``: one router per area, bearer-token authenticated.

Every collection pages with ``limit`` (1-500, default 50) and an opaque ``cursor`` (the
``next_cursor`` of the previous page; absent on the last page), and filters with query
parameters. Errors use the one JSON shape of :mod:`sendwell.web.errors`.
"""

from __future__ import annotations

from fastapi import APIRouter

from sendwell.web.api import (
    campaign_content,
    campaigns,
    domains,
    imports,
    lists,
    privacy,
    reports,
    segments,
    settings,
    subscribers,
    suppressions,
    templates,
    users,
    verification,
)

MODULES = (
    lists, subscribers, imports, segments, verification, suppressions, privacy, templates,
    campaigns, campaign_content, reports, domains, settings, users,
)  # fmt: skip


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    for module in MODULES:
        router.include_router(module.router)
    return router
