"""``/api/v1/campaigns``: create, preflight, start, pause, resume, cancel, status.

``GET /campaigns/{id}/status`` returns exactly the ``sendwell campaigns status --json``
object; ``GET /campaigns/{id}/preflight`` the ``sendwell campaigns check --json`` one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from sendwell.app import App
from sendwell.campaigns.content import campaign_content
from sendwell.campaigns.records import Campaign
from sendwell.campaigns.sender import campaign_sender
from sendwell.campaigns.service import (
    campaign_audience_of,
    campaign_status,
    cancel_campaign,
    counts_by_domain,
    get_campaign,
    pause_campaign,
    resume_campaign,
)
from sendwell.content.validate import Problem
from sendwell.errors import ConflictError, InvalidInput
from sendwell.reports.sites import progress_by_site
from sendwell.web import operations
from sendwell.web.api.common import (
    ERRORS,
    MAX_ID,
    NO_NUL,
    Page,
    Paging,
    ProblemOut,
    next_cursor,
    paging,
    problems_out,
)
from sendwell.web.api.content_in import ContentIn
from sendwell.web.auth import get_app, require_scope
from sendwell.web.campaign_setup import Audience, Setup, create, update
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


class ContentInfo(BaseModel):
    format: Literal["html", "markdown", "mjml"]
    layout: str | None = Field(description="The layout it was wrapped in (a copy is kept).")
    template: str | None = Field(description="The library template it was copied from.")
    template_version: int | None


class CampaignDetail(CampaignOut):
    html_template: str = Field(description="The compiled HTML template the workers render.")
    text_template: str | None
    tracking: bool = Field(description="Links rewritten and an open pixel; false: none.")
    segment_id: int | None = Field(description="Only subscribers of the lists in this segment.")
    exclude_segment_ids: list[int] = Field(description="Subscribers in these are left out.")
    reengage: bool = Field(description="Targets people the sunset rule would skip.")
    organization: str = Field(description="Sender identity in force (own or the setting).")
    postal_address: str = Field(description="Postal address in force (own or the setting).")
    content: ContentInfo


class CampaignSaved(CampaignDetail):
    warnings: list[ProblemOut] = Field(description="Content problems that do not block.")


SegmentRef = Annotated[int, Field(ge=1, le=MAX_ID)]


class SetupFields(BaseModel):
    """Fields of a campaign other than its content (each optional in PATCH)."""

    segment_id: SegmentRef | None = Field(
        None, description="A saved segment that narrows the lists' subscribers."
    )
    exclude_segment_ids: list[SegmentRef] = Field(
        [], max_length=100, description="Segments whose subscribers are left out."
    )
    reengage: bool = Field(False, description="Target people the sunset rule would skip.")
    tracking: bool = Field(True, description="Rewrite links and add an open pixel.")
    organization: str | None = Field(
        None, max_length=200, pattern=NO_NUL,
        description="Sender identity for this campaign; empty: the sender_organization setting.",
    )  # fmt: skip
    postal_address: str | None = Field(
        None, max_length=1000, pattern=NO_NUL,
        description="Postal address for this campaign; empty: the sender_postal_address setting.",
    )  # fmt: skip


class CampaignIn(ContentIn, SetupFields):
    """A new draft. Its content is exactly one of: ``template`` (a library template's
    content is copied; ``subject``, ``text`` and ``layout`` override the template's),
    ``body`` in ``format``, or ``html_template`` (the body in HTML, as before templates
    existed). Content is checked like a template save and CSS-inlined either way."""

    from_email: str = Field(min_length=3, max_length=320, pattern=NO_NUL)
    from_name: str = Field("", max_length=200, pattern=NO_NUL)
    list_ids: list[int] = Field(min_length=1, max_length=100)
    html_template: str | None = Field(
        None, min_length=1, max_length=1_000_000, pattern=NO_NUL,
        description="The body as HTML (the same as format html with body).",
    )  # fmt: skip
    text_template: str | None = Field(
        None, max_length=1_000_000, pattern=NO_NUL, description="The same as text."
    )
    name: str = Field("", max_length=200, pattern=NO_NUL)
    pool: str = Field("default", max_length=100, pattern=NO_NUL)


class CampaignPatch(BaseModel):
    """Change a draft; fields left out keep their values."""

    name: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)
    from_email: str | None = Field(None, min_length=3, max_length=320, pattern=NO_NUL)
    from_name: str | None = Field(None, max_length=200, pattern=NO_NUL)
    list_ids: list[int] | None = Field(None, min_length=1, max_length=100)
    pool: str | None = Field(None, max_length=100, pattern=NO_NUL)
    tracking: bool | None = None
    segment_id: SegmentRef | None = None
    exclude_segment_ids: list[SegmentRef] | None = Field(None, max_length=100)
    reengage: bool | None = None
    organization: str | None = Field(None, max_length=200, pattern=NO_NUL)
    postal_address: str | None = Field(None, max_length=1000, pattern=NO_NUL)


class StatusOut(BaseModel):
    """The stable ``sendwell campaigns status --json`` contract."""

    campaign: int
    state: State
    counts: dict[str, int]


class ProgressOut(StatusOut):
    by_domain: dict[str, dict[str, int]] = Field(
        description="Counts per recipient domain and delivery status."
    )
    by_site: dict[str, dict[str, int]] = Field(
        description="Counts per destination provider (the site of the MX host that took or "
        "refused the domain's messages; a domain not attempted yet stands for itself) and "
        "delivery status."
    )


def _out(c: Campaign) -> CampaignOut:
    return CampaignOut(
        id=c.id, name=c.name, subject=c.subject, from_name=c.from_name,
        from_email=c.from_email, state=c.state, pool=c.pool, list_ids=list(c.list_ids),
        created_at=c.created_at, started_at=c.started_at, finished_at=c.finished_at,
    )  # fmt: skip


def detail(a: App, campaign_id: int) -> CampaignDetail:
    with a.engine.connect() as conn:
        c = get_campaign(conn, campaign_id)
        audience = campaign_audience_of(conn, campaign_id)
        sender = campaign_sender(conn, campaign_id, a.sender_defaults())
        content = campaign_content(conn, campaign_id)
    return CampaignDetail(
        **_out(c).model_dump(), html_template=c.html_template, text_template=c.text_template,
        tracking=c.tracking, segment_id=audience.segment_id,
        exclude_segment_ids=list(audience.exclude_segment_ids), reengage=audience.reengage,
        organization=sender.organization, postal_address=sender.postal_address,
        content=ContentInfo(
            format=content.format, layout=content.layout.name if content.layout else None,
            template=content.template_name, template_version=content.template_version,
        ),
    )  # fmt: skip


def saved(a: App, campaign_id: int, warnings: Iterable[Problem]) -> CampaignSaved:
    return CampaignSaved(**detail(a, campaign_id).model_dump(), warnings=problems_out(warnings))


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
def post_campaign(body: CampaignIn, a: App = Depends(get_app)) -> CampaignSaved:
    """Create a draft campaign from a library template or a body (checked now: errors
    name their line), with its audience and sender settings."""
    if body.template is None and body.body is None and body.html_template is None:
        raise InvalidInput("give the content as one of template, body or html_template")
    if body.html_template is not None and (body.body is not None or body.format != "html"):
        raise InvalidInput("give html_template, or body with a format, not both")
    if body.text_template is not None and body.text is not None:
        raise InvalidInput("give text or text_template, not both")
    content = body.model_copy(
        update={"body": body.body if body.html_template is None else body.html_template,
                "text": body.text if body.text_template is None else body.text_template}
    )  # fmt: skip
    for list_id in body.list_ids:
        if not 1 <= list_id <= MAX_ID:
            raise InvalidInput(f"list id {list_id} is out of range")
    setup = Setup(
        name=body.name, from_email=body.from_email, from_name=body.from_name,
        list_ids=tuple(body.list_ids), pool=body.pool, tracking=body.tracking,
        audience=Audience(body.segment_id, tuple(body.exclude_segment_ids), body.reengage),
        organization=body.organization, postal_address=body.postal_address,
    )  # fmt: skip
    with a.engine.connect() as conn:
        source, origin = content.source(conn)
    result = create(a, setup, source, origin)
    return saved(a, result.campaign.id, result.warnings)


@router.get("/campaigns/{campaign_id}", dependencies=READ)
def get_one(campaign_id: int = CampaignId, a: App = Depends(get_app)) -> CampaignDetail:
    """A campaign with its audience, sender identity and where its content came from."""
    return detail(a, campaign_id)


@router.patch("/campaigns/{campaign_id}", dependencies=WRITE)
def patch_campaign(
    body: CampaignPatch, campaign_id: int = CampaignId, a: App = Depends(get_app)
) -> CampaignDetail:
    """Change a draft's name, sender, lists, pool, tracking, audience or sender settings
    (409 once it has started). Content changes with ``PUT .../content``."""
    current = detail(a, campaign_id)
    if current.state != "draft":
        raise ConflictError(f"campaign {campaign_id} is {current.state}; only drafts change")
    given = body.model_fields_set
    for list_id in body.list_ids or ():
        if not 1 <= list_id <= MAX_ID:
            raise InvalidInput(f"list id {list_id} is out of range")

    def pick(field: str, now: object) -> Any:
        return getattr(body, field) if field in given and getattr(body, field) is not None else now

    setup = Setup(
        name=pick("name", current.name), from_email=pick("from_email", current.from_email),
        from_name=pick("from_name", current.from_name),
        list_ids=tuple(pick("list_ids", current.list_ids)), pool=pick("pool", current.pool),
        tracking=pick("tracking", current.tracking),
        audience=Audience(
            body.segment_id if "segment_id" in given else current.segment_id,
            tuple(pick("exclude_segment_ids", current.exclude_segment_ids)),
            pick("reengage", current.reengage),
        ),
        organization=body.organization, postal_address=body.postal_address,
    )  # fmt: skip
    update(a, campaign_id, setup)
    return detail(a, campaign_id)


@router.get("/campaigns/{campaign_id}/status", dependencies=READ)
def status(campaign_id: int = CampaignId, a: App = Depends(get_app)) -> StatusOut:
    """Recipients per delivery state (``sendwell campaigns status --json``)."""
    return _status(a, campaign_id)


@router.get("/campaigns/{campaign_id}/progress", dependencies=READ)
def progress(campaign_id: int = CampaignId, a: App = Depends(get_app)) -> ProgressOut:
    """Status plus counts per recipient domain and per provider, for live progress."""
    with a.engine.connect() as conn:
        st = campaign_status(conn, campaign_id)
        by_domain = counts_by_domain(conn, campaign_id)
        by_site = progress_by_site(conn, campaign_id)
    return ProgressOut(campaign=st.campaign, state=st.state, counts=st.counts,
                       by_domain=by_domain, by_site=by_site)  # fmt: skip


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
