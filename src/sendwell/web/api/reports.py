"""Reports over HTTP (``sendwell report``): a campaign's report as JSON, CSV and SVG
charts, and the sender's reputation across recent campaigns. Needs ``reports:read``.

* ``GET /campaigns/{id}/report`` — exactly ``sendwell report ID --json``;
* ``GET /campaigns/{id}/report.csv`` — the long-format CSV (``section,key,metric,value``);
* ``GET /campaigns/{id}/charts/{name}.svg`` — ``delivery``, ``funnel``, ``sites``, ``links``
  (static SVG without scripts, safe to embed);
* ``GET /reputation`` — ``sendwell report reputation --json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from sendwell.app import App
from sendwell.reports.export import reputation_json
from sendwell.reports.full import FullReport, full_report
from sendwell.reports.reputation import reputation
from sendwell.reports.series import Step
from sendwell.web.api.common import ERRORS, MAX_ID
from sendwell.web.auth import get_app, require_scope

router = APIRouter(tags=["reports"], responses=ERRORS)
READ = [Depends(require_scope("reports:read"))]
CampaignId = Path(ge=1, le=MAX_ID)
StepQuery = Query("hour", description="Time-series bucket: hour or day.")
Chart = Literal["delivery", "funnel", "sites", "links"]


class CampaignFacts(BaseModel):
    id: int
    name: str
    subject: str
    state: str
    tracking: bool = Field(description="False: privacy mode, no opens or clicks recorded.")
    started_at: datetime | None


class Delivery(BaseModel):
    recipients: int
    sent: int = Field(description="Recipients attempted at least once.")
    delivered: int
    deferred: int = Field(description="Recipients deferred at least once.")
    bounced: int
    bounced_hard: int
    bounced_soft: int
    bounced_block: int
    complained: int
    unsubscribed: int


class Engagement(BaseModel):
    unique: int = Field(description="Distinct recipients (people).")
    total: int
    machine_unique: int = Field(description="Distinct recipients whose hits were machines.")
    machine_total: int


class Link(BaseModel):
    number: int
    url: str
    unique: int
    total: int
    machine_total: int


class Site(BaseModel):
    site: str = Field(description="A destination provider (set of domains sharing MX hosts).")
    attempted: int
    delivered: int
    deferred: int
    bounced: int
    complained: int
    median_latency_s: float | None
    delivery_rate: float
    deferral_rate: float
    bounce_rate: float
    complaint_rate: float


class ReportOut(BaseModel):
    """The stable ``sendwell report ID --json`` contract."""

    campaign: CampaignFacts
    delivery: Delivery
    opens: Engagement
    clicks: Engagement
    links: list[Link]
    sites: list[Site]
    series: list[dict[str, Any]] = Field(
        description='Per bucket: {"start": ISO time, "<event kind>": count, ...}.'
    )


class ReputationRow(BaseModel):
    campaign: int | None = Field(description="null for the total over every campaign shown.")
    name: str
    attempted: int
    delivered: int
    hard_bounces: int
    complaints: int
    bounce_rate: float = Field(description="Hard bounces / attempted.")
    complaint_rate: float = Field(description="Complaints / delivered.")
    bounce_verdict: Literal["ok", "warning", "over"]
    complaint_verdict: Literal["ok", "warning", "over"]


class ReputationOut(BaseModel):
    target: float = Field(description="Keep rates under this (0.1 %).")
    ceiling: float = Field(description="Providers reject or junk mail from here (0.3 %).")
    campaigns: list[ReputationRow]
    total: ReputationRow


def load(a: App, campaign_id: int, step: Step) -> FullReport:
    with a.engine.connect() as conn:
        return full_report(conn, campaign_id, step)


@router.get("/campaigns/{campaign_id}/report", dependencies=READ)
def report(
    campaign_id: int = CampaignId,
    step: Literal["hour", "day"] = StepQuery,
    a: App = Depends(get_app),
) -> ReportOut:
    """Delivery, engagement (people and machines), links, per-site rates, time series."""
    return ReportOut.model_validate(load(a, campaign_id, step).as_json())


@router.get(
    "/campaigns/{campaign_id}/report.csv",
    dependencies=READ,
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "section,key,metric,value"}},
)
def report_csv(
    campaign_id: int = CampaignId,
    step: Literal["hour", "day"] = StepQuery,
    a: App = Depends(get_app),
) -> Response:
    """The report as one long CSV table a spreadsheet can pivot."""
    return Response(
        load(a, campaign_id, step).as_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'},
    )


@router.get(
    "/campaigns/{campaign_id}/charts/{chart}.svg",
    dependencies=READ,
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "A static SVG chart."}},
)
def chart(
    chart: Chart,
    campaign_id: int = CampaignId,
    step: Literal["hour", "day"] = StepQuery,
    a: App = Depends(get_app),
) -> Response:
    """One chart: delivery over time, engagement funnel, sites, or link clicks."""
    return svg_response(load(a, campaign_id, step).chart(chart))


def svg_response(svg: str) -> Response:
    # The SVG is static; the CSP keeps it so even if opened on its own.
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


@router.get("/reputation", dependencies=READ)
def reputation_view(
    limit: int = Query(50, ge=1, le=500, description="How many recent campaigns."),
    a: App = Depends(get_app),
) -> ReputationOut:
    """Hard-bounce and complaint rates of recent campaigns against the 0.1 % target and
    the 0.3 % ceiling (``sendwell report reputation --json``)."""
    with a.engine.connect() as conn:
        rows = reputation(conn, limit=limit)
    return ReputationOut.model_validate(reputation_json(rows))
