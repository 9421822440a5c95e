"""Admin pages for campaigns: list, create form, detail with live progress, preflight,
and the start / pause / resume / cancel buttons (CSRF-checked posts).

Live progress: the detail page polls ``/admin/campaigns/{id}/progress.json`` (same
session, read-only) every two seconds with a small script served from ``/static``; the
page is complete without it, just not live.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from sendwell.app import App
from sendwell.audience.lists import all_lists
from sendwell.campaigns.records import OUTBOX_STATUSES
from sendwell.campaigns.service import (
    campaign_status,
    cancel_campaign,
    counts_by_domain,
    create_campaign,
    get_campaign,
    pause_campaign,
    resume_campaign,
)
from sendwell.errors import ConfigError, InvalidInput
from sendwell.web import operations
from sendwell.web.api.common import MAX_ID
from sendwell.web.auth import check_csrf, current_session, get_app
from sendwell.web.queries import campaign_page
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()
CampaignId = Path(ge=1, le=MAX_ID)

STARTER_HTML = """<p>Hello {{ subscriber.first_name | default("there") }},</p>
<p>Here is what is new this month: write a few paragraphs for your readers here.</p>
<p>{{ sender.organization }}, {{ sender.postal_address }} ·
<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
"""


def progress_json(a: App, campaign_id: int) -> dict[str, Any]:
    with a.engine.connect() as conn:
        status = campaign_status(conn, campaign_id)
        by_domain = counts_by_domain(conn, campaign_id)
    return {**status.as_json(), "total": status.total, "by_domain": by_domain}


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


@router.get("/campaigns/new")
def campaign_form(
    request: Request, session: Session = Depends(current_session), a: App = Depends(get_app)
) -> Response:
    with a.engine.connect() as conn:
        lists = all_lists(conn)
    return render(
        request, "campaign_new.html", session, lists=lists, error="",
        form={"subject": "", "from_email": "", "from_name": "", "name": "",
              "html": STARTER_HTML, "list_ids": []},
    )  # fmt: skip


@router.post("/campaigns")
def campaign_create(
    request: Request,
    subject: str = Form("", max_length=998),
    from_email: str = Form("", max_length=320),
    from_name: str = Form("", max_length=200),
    name: str = Form("", max_length=200),
    html: str = Form("", max_length=1_000_000),
    list_ids: list[int] = Form([]),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    """Create the draft and go straight to its preflight report (the wizard's last step)."""
    try:
        pool = a.shaping().pool("default")[0].pool
        with a.engine.begin() as conn:
            c = create_campaign(
                conn, name=name, subject=subject, from_email=from_email, from_name=from_name,
                html_template=html, text_template=None, list_ids=list_ids,
                now=a.clock.now(), pool=pool,
            )  # fmt: skip
    except (InvalidInput, ConfigError) as exc:
        with a.engine.connect() as conn:
            lists = all_lists(conn)
        form = {"subject": subject, "from_email": from_email, "from_name": from_name,
                "name": name, "html": html, "list_ids": list_ids}  # fmt: skip
        return render(
            request, "campaign_new.html", session, 422, lists=lists, error=str(exc), form=form
        )
    return RedirectResponse(f"/admin/campaigns/{c.id}/preflight", status_code=303)


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
