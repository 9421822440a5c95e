"""``/api/v1/campaigns/{id}/content|preview|test``: a campaign's content, what a subscriber
would receive, and test sends (``sendwell campaigns edit|show|preview|test``).

``GET .../content`` is the snapshot the campaign keeps (format, sources, the layout's
copy, the template and version it came from); ``PUT .../content`` replaces it while the
campaign is a draft, checked like a template save (``template_error`` with each line;
warnings in the answer). ``POST .../preview`` builds the message through the workers'
own builder for a subscriber, exactly as it would be sent (tracked links included);
``POST .../test`` sends it now, marked ``[TEST]``, to up to 20 addresses.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from sendwell.app import App
from sendwell.campaigns.content import campaign_content, edit_campaign_content
from sendwell.campaigns.preview import preview_message
from sendwell.campaigns.service import get_campaign
from sendwell.campaigns.testsend import MAX_TEST_ADDRESSES
from sendwell.web.api.campaigns import CampaignSaved, saved
from sendwell.web.api.common import ERRORS, MAX_ID, NO_NUL
from sendwell.web.api.content_in import ContentIn
from sendwell.web.auth import get_app, require_scope

router = APIRouter(tags=["campaigns"], responses=ERRORS)
CampaignId = Path(ge=1, le=MAX_ID)
READ = [Depends(require_scope("campaigns:read"))]
WRITE = [Depends(require_scope("campaigns:write"))]
Format = Literal["html", "markdown", "mjml"]
Address = Annotated[str, Field(min_length=3, max_length=320, pattern=NO_NUL)]


class LayoutOut(BaseModel):
    name: str
    format: Format
    body: str
    text: str | None


class ContentOut(BaseModel):
    subject: str
    format: Format
    body: str
    text: str | None = Field(description="Its own text version; null: made from the HTML.")
    layout: LayoutOut | None = Field(description="The layout's copy, as it was when taken.")
    template: str | None = Field(description="The library template it was copied from.")
    template_version: int | None


class ContentPut(ContentIn):
    name: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)


class PreviewIn(BaseModel):
    email: str | None = Field(
        None, min_length=3, max_length=320, pattern=NO_NUL,
        description="The subscriber to build it for; default: the first confirmed one.",
    )  # fmt: skip


class PreviewOut(BaseModel):
    email: str = Field(description="The subscriber it is personalized for.")
    subject: str
    html: str
    text: str
    outbox_id: int | None = Field(
        description="Their outbox row once started; null: links carry a placeholder."
    )
    in_audience: bool = Field(description="Whether they are a confirmed subscriber of its lists.")


class SendTestIn(BaseModel):
    to: list[Address] = Field(min_length=1, max_length=MAX_TEST_ADDRESSES)
    as_email: str | None = Field(
        None, min_length=3, max_length=320, pattern=NO_NUL,
        description="Personalize as this subscriber; default: the first on its lists.",
    )  # fmt: skip


class SendTestResult(BaseModel):
    rcpt: str
    ok: bool = Field(description="The receiving server accepted it.")
    code: int = Field(description="The SMTP reply code; 0 when none was received.")
    reply: str
    host: str | None = Field(description="The MX host or relay that answered.")


class SendTestOut(BaseModel):
    personalized_for: str
    accepted: int
    results: list[SendTestResult]


@router.get("/campaigns/{campaign_id}/content", dependencies=READ)
def get_content(campaign_id: int = CampaignId, a: App = Depends(get_app)) -> ContentOut:
    """The content the campaign keeps (``sendwell campaigns show``, sources included)."""
    with a.engine.connect() as conn:
        campaign = get_campaign(conn, campaign_id)
        c = campaign_content(conn, campaign_id)
    layout = c.layout
    return ContentOut(
        subject=campaign.subject, format=c.format, body=c.body, text=c.text,
        layout=LayoutOut(name=layout.name, format=layout.format, body=layout.body,
                         text=layout.text) if layout is not None else None,
        template=c.template_name, template_version=c.template_version,
    )  # fmt: skip


@router.put("/campaigns/{campaign_id}/content", dependencies=WRITE)
def put_content(
    body: ContentPut, campaign_id: int = CampaignId, a: App = Depends(get_app)
) -> CampaignSaved:
    """Replace a draft's content (and name) with a library template's or a body; checked
    like a template save. 409 once the campaign has started."""
    with a.engine.begin() as conn:
        source, origin = body.source(conn)
        result = edit_campaign_content(
            conn, campaign_id, source, now=a.clock.now(), name=body.name, origin=origin,
            keep_origin=False,
        )  # fmt: skip
    return saved(a, campaign_id, result.warnings)


@router.post("/campaigns/{campaign_id}/preview", dependencies=READ)
def preview(
    body: PreviewIn | None = None, campaign_id: int = CampaignId, a: App = Depends(get_app)
) -> PreviewOut:
    """The message a subscriber would receive, built by the workers' builder."""
    with a.engine.connect() as conn:
        p = preview_message(
            conn, a.message_builder(), campaign_id, email_address=body.email if body else None
        )
    return PreviewOut(
        email=p.email, subject=p.subject, html=p.html, text=p.text, outbox_id=p.outbox_id,
        in_audience=p.in_audience,
    )  # fmt: skip


@router.post("/campaigns/{campaign_id}/test", dependencies=WRITE)
def send_test(
    body: SendTestIn, campaign_id: int = CampaignId, a: App = Depends(get_app)
) -> SendTestOut:
    """Send the campaign's message now, marked ``[TEST]`` with untracked links, to each
    address over the campaign's routes; each SMTP outcome is returned and recorded as a
    ``test`` event. No outbox row is written: counts and reports do not see it."""
    # FastAPI runs plain routes in a worker thread without an event loop.
    test, results = asyncio.run(a.send_test(campaign_id, to=body.to, as_email=body.as_email))
    return SendTestOut(
        personalized_for=test.personalized_for, accepted=sum(r.ok for r in results),
        results=[SendTestResult(rcpt=r.rcpt, ok=r.ok, code=r.code, reply=r.reply, host=r.host)
                 for r in results],
    )  # fmt: skip
