"""Admin pages for reports: a campaign's report with its charts, and the CSV download.

The charts are the SVGs of ``reports.charts`` served from this site and shown with
``<img>`` (each with a text alternative), next to tables that hold the same numbers, so
the page reads without images too. Reputation across campaigns is on the dashboard
(``admin_audience``).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from sendwell.app import App
from sendwell.campaigns.service import get_campaign
from sendwell.web.api.common import MAX_ID
from sendwell.web.api.reports import Chart, load, svg_response
from sendwell.web.auth import current_session, get_app
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()
CampaignId = Path(ge=1, le=MAX_ID)
StepQuery = Query("hour")
CHARTS = (
    ("delivery", "Delivery over time: delivered, deferred and bounced per period"),
    ("funnel", "Engagement funnel: delivered, opened, clicked, unsubscribed"),
    ("sites", "Delivery, deferral, bounce and complaint rates per provider"),
    ("links", "Clicks per link, people and machines"),
)


@router.get("/campaigns/{campaign_id}/report")
def report_page(
    request: Request,
    campaign_id: int = CampaignId,
    step: Literal["hour", "day"] = StepQuery,
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    full = load(a, campaign_id, step)
    with a.engine.connect() as conn:
        c = get_campaign(conn, campaign_id)
    return render(
        request, "report.html", session, c=c, r=full.report, sites=full.sites, step=step,
        charts=CHARTS,
    )  # fmt: skip


@router.get("/campaigns/{campaign_id}/charts/{chart}.svg")
def chart(
    chart: Chart,
    campaign_id: int = CampaignId,
    step: Literal["hour", "day"] = StepQuery,
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    return svg_response(load(a, campaign_id, step).chart(chart))


@router.get("/campaigns/{campaign_id}/report.csv")
def report_csv(
    campaign_id: int = CampaignId,
    step: Literal["hour", "day"] = StepQuery,
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    return Response(
        load(a, campaign_id, step).as_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'},
    )
