"""The campaign wizard's first step: a new draft, or a draft's setup changed.

Step 1 (this module) — where the content starts (a library template, or a blank body in
HTML, Markdown or MJML), the sender, the lists, a segment that narrows them and segments
left out, re-engagement, tracking, the sender identity and postal address (empty: the
installation's settings) and the pool. Step 2 edits the content with a live preview
(``admin_campaign_content``); step 3 is the preflight report, the only page with the
Start button (``admin_campaigns``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from sendwell.app import App
from sendwell.audience.lists import all_lists
from sendwell.audience.segments import all_segments
from sendwell.campaigns.content import content_from
from sendwell.campaigns.sender import campaign_overrides
from sendwell.campaigns.service import get_campaign
from sendwell.content.formats import Format, parse_format
from sendwell.content.library import list_templates
from sendwell.content.validate import Problem
from sendwell.errors import ConflictError, InvalidInput, NotFound, TemplateError
from sendwell.web.api.common import MAX_ID
from sendwell.web.auth import check_csrf, current_session, get_app
from sendwell.web.campaign_setup import Audience, Setup, audience_of, create, pools, update
from sendwell.web.drafts import problems_of
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()
CampaignId = Path(ge=1, le=MAX_ID)
NOT_SAVED = "The content has errors; nothing was saved."

FOOTER_HTML = """<p>{{ sender.organization }}, {{ sender.postal_address }} ·
<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>"""
STARTERS: dict[Format, str] = {
    "html": """<p>Hello {{ subscriber.first_name | default("there") }},</p>
<p>Here is what is new this month: write a few paragraphs for your readers here.</p>
"""
    + FOOTER_HTML
    + "\n",
    "markdown": """Hello {{ subscriber.first_name | default("there") }},

Here is what is new this month: write a few paragraphs for your readers here.

"""
    + FOOTER_HTML
    + "\n",
    "mjml": """<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Hello {{ subscriber.first_name | default("there") }},</mj-text>
        <mj-text>Here is what is new this month: write a few paragraphs here.</mj-text>
        <mj-text>{{ sender.organization }}, {{ sender.postal_address }} ·
          <a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
""",
}


@dataclass(frozen=True)
class SetupForm:
    """The step-1 form as typed."""

    start: str  # "template" or "write"
    template: str
    format: str
    subject: str
    body: str
    name: str
    from_email: str
    from_name: str
    list_ids: list[int]
    segment_id: str
    exclude_segment_ids: list[int]
    reengage: bool
    tracking: bool
    organization: str
    postal_address: str
    pool: str

    def setup(self) -> Setup:
        segment = self.segment_id.strip()
        if segment and not (segment.isdigit() and 1 <= int(segment) <= MAX_ID):
            raise InvalidInput("choose a segment from the list")
        for ref in [*self.list_ids, *self.exclude_segment_ids]:
            if not 1 <= ref <= MAX_ID:
                raise InvalidInput(f"id {ref} is out of range")
        return Setup(
            name=self.name.strip(), from_email=self.from_email, from_name=self.from_name,
            list_ids=tuple(self.list_ids), pool=self.pool or "default", tracking=self.tracking,
            audience=Audience(int(segment) if segment else None,
                              tuple(self.exclude_segment_ids), self.reengage),
            organization=self.organization.strip(), postal_address=self.postal_address.strip(),
        )  # fmt: skip


def setup_form(
    start: str = Form("template", max_length=20),
    template: str = Form("", max_length=200),
    format: str = Form("html", max_length=20),
    subject: str = Form("", max_length=998),
    body: str = Form("", max_length=1_000_000),
    name: str = Form("", max_length=200),
    from_email: str = Form("", max_length=320),
    from_name: str = Form("", max_length=200),
    list_ids: list[int] = Form([]),
    segment_id: str = Form("", max_length=30),
    exclude_segment_ids: list[int] = Form([]),
    reengage: bool = Form(False),
    tracking: bool = Form(False),
    organization: str = Form("", max_length=200),
    postal_address: str = Form("", max_length=1000),
    pool: str = Form("default", max_length=100),
) -> SetupForm:
    return SetupForm(
        start, template, format, subject, body.replace("\r\n", "\n"), name, from_email,
        from_name, list_ids, segment_id, exclude_segment_ids, reengage, tracking,
        organization, postal_address, pool,
    )  # fmt: skip


def _page(
    request: Request, session: Session, a: App, *, form: dict[str, Any], campaign_id: int | None,
    error: str = "", problems: list[Problem] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    with a.engine.connect() as conn:
        lists = all_lists(conn)
        segments = [(sid, name) for sid, name, _ in all_segments(conn)]
        templates = list_templates(conn, kind="template")
    s = a.settings
    return render(
        request, "campaign_setup.html", session, status, form=form, campaign_id=campaign_id,
        lists=lists, segments=segments, templates=templates, pools=pools(a), error=error,
        problems=problems or [], default_organization=s.sender_organization,
        default_postal_address=s.sender_postal_address,
    )  # fmt: skip


def _typed(f: SetupForm) -> dict[str, Any]:
    return {**vars(f), "segment_id": f.segment_id.strip()}


@router.get("/campaigns/new")
def new_campaign(
    request: Request, session: Session = Depends(current_session), a: App = Depends(get_app)
) -> Response:
    form = {
        "start": "template", "template": "", "format": "html", "subject": "", "body": "",
        "name": "", "from_email": "", "from_name": "", "list_ids": [], "segment_id": "",
        "exclude_segment_ids": [], "reengage": False, "tracking": True, "organization": "",
        "postal_address": "", "pool": "default",
    }  # fmt: skip
    return _page(request, session, a, form=form, campaign_id=None)


@router.post("/campaigns")
def create_campaign(
    request: Request,
    f: SetupForm = Depends(setup_form),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    """Create the draft and go to its content (the wizard's second step)."""
    try:
        setup = f.setup()
        if f.start == "write":
            fmt = parse_format(f.format)
            body: tuple[Format, str] | None = (fmt, f.body if f.body.strip() else STARTERS[fmt])
            template = None
        else:
            if not f.template:
                raise InvalidInput("choose a template, or write the content yourself")
            body, template = None, f.template
        with a.engine.connect() as conn:
            source, origin = content_from(
                conn, template=template, body=body, subject=f.subject.strip() or None
            )
        saved = create(a, setup, source, origin)
    except TemplateError as exc:
        return _page(request, session, a, form=_typed(f), campaign_id=None, status=422,
                     error=NOT_SAVED, problems=problems_of(exc))  # fmt: skip
    except (InvalidInput, NotFound, ConflictError) as exc:
        return _page(request, session, a, form=_typed(f), campaign_id=None, error=str(exc),
                     status=422)  # fmt: skip
    return RedirectResponse(f"/admin/campaigns/{saved.campaign.id}/content", status_code=303)


@router.get("/campaigns/{campaign_id}/setup")
def setup_page(
    request: Request,
    campaign_id: int = CampaignId,
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.connect() as conn:
        c = get_campaign(conn, campaign_id)
        own = campaign_overrides(conn, campaign_id)
    audience = audience_of(a, campaign_id)
    form = {
        "name": c.name, "from_email": c.from_email, "from_name": c.from_name,
        "list_ids": list(c.list_ids),
        "segment_id": str(audience.segment_id) if audience.segment_id else "",
        "exclude_segment_ids": list(audience.exclude_segment_ids),
        "reengage": audience.reengage, "tracking": c.tracking,
        "organization": own.organization or "", "postal_address": own.postal_address or "",
        "pool": c.pool, "state": c.state,
    }  # fmt: skip
    return _page(request, session, a, form=form, campaign_id=campaign_id)


@router.post("/campaigns/{campaign_id}/setup")
def save_setup(
    request: Request,
    campaign_id: int = CampaignId,
    f: SetupForm = Depends(setup_form),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    try:
        update(a, campaign_id, f.setup())
    except (InvalidInput, NotFound) as exc:
        with a.engine.connect() as conn:
            state = get_campaign(conn, campaign_id).state
        return _page(request, session, a, form={**_typed(f), "state": state},
                     campaign_id=campaign_id, error=str(exc), status=422)  # fmt: skip
    return RedirectResponse(f"/admin/campaigns/{campaign_id}/content", status_code=303)
