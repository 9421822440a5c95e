"""Admin pages for campaigns: list, detail with live progress, preflight (the wizard's last
step, the only page with the Start button for a draft), and the start / pause / resume /
cancel buttons (CSRF-checked posts). Creating a draft and its content: the wizard's first
two steps, ``admin_campaign_setup`` and ``admin_campaign_content``.

Live progress: the detail page polls ``/admin/campaigns/{id}/progress.json`` (same
session, read-only) every two seconds with a small script served from ``/static``; the
page is complete without it, just not live.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from sendwell.app import App
from sendwell.campaigns.records import OUTBOX_STATUSES
from sendwell.campaigns.service import (
    campaign_status,
    cancel_campaign,
    counts_by_domain,
    get_campaign,
    pause_campaign,
    resume_campaign,
)
from sendwell.reports.sites import progress_by_site
from sendwell.web import operations
from sendwell.web.api.common import MAX_ID
from sendwell.web.auth import check_csrf, current_session, get_app
from sendwell.web.queries import campaign_page
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()
CampaignId = Path(ge=1, le=MAX_ID)


def progress_json(a: App, campaign_id: int) -> dict[str, Any]:
    with a.engine.connect() as conn:
        status = campaign_status(conn, campaign_id)
        by_domain = counts_by_domain(conn, campaign_id)
        by_site = progress_by_site(conn, campaign_id)
    return {**status.as_json(), "total": status.total, "by_domain": by_domain, "by_site": by_site}


@router.get("/campaigns")
def campaigns_page(
    request: Request, session: Session = Depends(current_session), a: App = Depends(get_app)
) -> Response:
    with a.engine.connect() as conn:
        rows = [
            (c, campaign_status(conn, c.id))
            for c in campaign_page(conn, limit=200, newest_first=True)
        ]
    return render(request, "campaigns.html", session, rows=rows)


@router.get("/campaigns/{campaign_id}")
def campaign_detail(
    request: Request,
    campaign_id: int = CampaignId,
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.connect() as conn:
        c = get_campaign(conn, campaign_id)
    return render(
        request, "campaign.html", session, c=c, progress=progress_json(a, campaign_id),
        statuses=OUTBOX_STATUSES,
    )  # fmt: skip


@router.get("/campaigns/{campaign_id}/progress.json")
def campaign_progress(
    campaign_id: int = CampaignId,
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> dict[str, Any]:
    return progress_json(a, campaign_id)


@router.get("/campaigns/{campaign_id}/preflight")
def campaign_preflight(
    request: Request,
    campaign_id: int = CampaignId,
    dns: bool = Query(True),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.connect() as conn:
        c = get_campaign(conn, campaign_id)
    report = operations.preflight(a, campaign_id, dns=dns)
    return render(request, "preflight.html", session, c=c, report=report, dns=dns)


@router.post("/campaigns/{campaign_id}/{action}")
def campaign_action(
    action: Literal["start", "pause", "resume", "cancel"],
    campaign_id: int = CampaignId,
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    if action == "start":
        operations.start(a, campaign_id)
    else:
        with a.engine.begin() as conn:
            if action == "pause":
                pause_campaign(conn, campaign_id)
            elif action == "resume":
                resume_campaign(conn, campaign_id, now=a.clock.now())
            else:
                cancel_campaign(conn, campaign_id, now=a.clock.now())
    return RedirectResponse(f"/admin/campaigns/{campaign_id}", status_code=303)
