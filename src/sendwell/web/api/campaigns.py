"""``/api/v1/campaigns``: create, preflight, start, pause, resume, cancel, status.

``GET /campaigns/{id}/status`` returns exactly the ``sendwell campaigns status --json``
object; ``GET /campaigns/{id}/preflight`` the ``sendwell campaigns check --json`` one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from sendwell.app import App
from sendwell.audience.lists import get_list
from sendwell.campaigns.records import Campaign
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
from sendwell.web.api.common import ERRORS, MAX_ID, NO_NUL, Page, Paging, next_cursor, paging
from sendwell.web.auth import get_app, require_scope
from sendwell.web.queries import campaign_page

router = APIRouter(tags=["campaigns"], responses=ERRORS)

State = Literal["draft", "running", "paused", "cancelled", "finished"]
CampaignId = Path(ge=1, le=MAX_ID)
READ = [Depends(require_scope("campaigns:read"))]
WRITE = [Depends(require_scope("campaigns:write"))]


class CampaignOut(BaseModel):
    id: int
    name: str
    subject: str
    from_name: str
    from_email: str
    state: State
    pool: str
    list_ids: list[int]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class CampaignDetail(CampaignOut):
    html_template: str
    text_template: str | None


class CampaignIn(BaseModel):
    subject: str = Field(min_length=1, max_length=998, pattern=NO_NUL)
    from_email: str = Field(min_length=3, max_length=320, pattern=NO_NUL)
    from_name: str = Field("", max_length=200, pattern=NO_NUL)
    list_ids: list[int] = Field(min_length=1, max_length=100)
    html_template: str = Field(min_length=1, max_length=1_000_000, pattern=NO_NUL)
    text_template: str | None = Field(None, max_length=1_000_000, pattern=NO_NUL)
    name: str = Field("", max_length=200, pattern=NO_NUL)
    pool: str = Field("default", max_length=100, pattern=NO_NUL)


class StatusOut(BaseModel):
    """The stable ``sendwell campaigns status --json`` contract."""

    campaign: int
    state: State
    counts: dict[str, int]


class ProgressOut(StatusOut):
    by_domain: dict[str, dict[str, int]] = Field(
        description="Counts per recipient domain and delivery status."
    )


def _out(c: Campaign) -> CampaignOut:
    return CampaignOut(
        id=c.id, name=c.name, subject=c.subject, from_name=c.from_name,
        from_email=c.from_email, state=c.state, pool=c.pool, list_ids=list(c.list_ids),
        created_at=c.created_at, started_at=c.started_at, finished_at=c.finished_at,
    )  # fmt: skip


def _status(a: App, campaign_id: int) -> StatusOut:
    with a.engine.connect() as conn:
        return StatusOut.model_validate(campaign_status(conn, campaign_id).as_json())


@router.get("/campaigns", dependencies=READ)
def list_campaigns(
    page: Paging = Depends(paging),
    state: State | None = Query(None, description="Only campaigns in this state."),
    a: App = Depends(get_app),
) -> Page[CampaignOut]:
    with a.engine.connect() as conn:
        rows = campaign_page(conn, limit=page.limit, after=page.after, state=state)
    items = [_out(c) for c in rows]
    return Page(items=items, next_cursor=next_cursor([c.id for c in rows], page.limit))


@router.post("/campaigns", status_code=201, dependencies=WRITE)
def post_campaign(body: CampaignIn, a: App = Depends(get_app)) -> CampaignDetail:
    """Create a draft campaign (templates are compiled now; errors name the line)."""
    try:
        pool = a.shaping().pool(body.pool)[0].pool
    except ConfigError:
        raise InvalidInput(f"no sending pool named {body.pool!r} in the shaping file") from None
    with a.engine.begin() as conn:
        for list_id in body.list_ids:
            if not 1 <= list_id <= MAX_ID:
                raise InvalidInput(f"list id {list_id} is out of range")
            get_list(conn, list_id)
        c = create_campaign(
            conn, name=body.name, subject=body.subject, from_email=body.from_email,
            from_name=body.from_name, html_template=body.html_template,
            text_template=body.text_template, list_ids=body.list_ids, now=a.clock.now(),
            pool=pool,
        )  # fmt: skip
    return CampaignDetail(
        **_out(c).model_dump(), html_template=c.html_template, text_template=c.text_template
    )


@router.get("/campaigns/{campaign_id}", dependencies=READ)
def get_one(campaign_id: int = CampaignId, a: App = Depends(get_app)) -> CampaignDetail:
    with a.engine.connect() as conn:
        c = get_campaign(conn, campaign_id)
    return CampaignDetail(
        **_out(c).model_dump(), html_template=c.html_template, text_template=c.text_template
    )


@router.get("/campaigns/{campaign_id}/status", dependencies=READ)
def status(campaign_id: int = CampaignId, a: App = Depends(get_app)) -> StatusOut:
    """Recipients per delivery state (``sendwell campaigns status --json``)."""
    return _status(a, campaign_id)


@router.get("/campaigns/{campaign_id}/progress", dependencies=READ)
def progress(campaign_id: int = CampaignId, a: App = Depends(get_app)) -> ProgressOut:
    """Status plus counts per recipient domain, for live progress displays."""
    with a.engine.connect() as conn:
        st = campaign_status(conn, campaign_id)
        by_domain = counts_by_domain(conn, campaign_id)
    return ProgressOut(campaign=st.campaign, state=st.state, counts=st.counts, by_domain=by_domain)


@router.get("/campaigns/{campaign_id}/preflight", dependencies=READ)
def preflight(
    campaign_id: int = CampaignId,
    dns: bool = Query(
        True, description="Check the From domain's DNS records too (as the start gate does)."
    ),
    links: bool = Query(
        False, description="Also fetch every link and image URL of the content (slower)."
    ),
    a: App = Depends(get_app),
) -> dict[str, Any]:
    """The preflight report (``sendwell campaigns check --json``): blockers, warnings,
    spam score and rules, the delivery-plan estimate, and with ``links`` the link check."""
    return operations.preflight(a, campaign_id, dns=dns, links=links).as_json()


@router.post("/campaigns/{campaign_id}/start", dependencies=WRITE)
def start(campaign_id: int = CampaignId, a: App = Depends(get_app)) -> StatusOut:
    """Queue one message per eligible recipient; workers deliver them.

    Refused with 409 ``preflight_blocked`` (each blocker with its fix in ``blockers``)
    while preflight finds any."""
    return StatusOut.model_validate(operations.start(a, campaign_id).as_json())


@router.post("/campaigns/{campaign_id}/pause", dependencies=WRITE)
def pause(campaign_id: int = CampaignId, a: App = Depends(get_app)) -> StatusOut:
    with a.engine.begin() as conn:
        pause_campaign(conn, campaign_id)
    return _status(a, campaign_id)


@router.post("/campaigns/{campaign_id}/resume", dependencies=WRITE)
def resume(campaign_id: int = CampaignId, a: App = Depends(get_app)) -> StatusOut:
    with a.engine.begin() as conn:
        resume_campaign(conn, campaign_id, now=a.clock.now())
    return _status(a, campaign_id)


@router.post("/campaigns/{campaign_id}/cancel", dependencies=WRITE)
def cancel(campaign_id: int = CampaignId, a: App = Depends(get_app)) -> StatusOut:
    """Stop for good; recipients not yet delivered become cancelled."""
    with a.engine.begin() as conn:
        cancel_campaign(conn, campaign_id, now=a.clock.now())
    return _status(a, campaign_id)
