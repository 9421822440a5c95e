"""Previews: a campaign's message as one subscriber would receive it, and library templates.

:func:`preview_message` builds the message through the same builder the delivery
workers use (``CampaignMessageBuilder.build_one``), then reads subject, HTML and text
back out of the bytes — so a preview is exactly what goes on the wire: personalized,
with the recipient's unsubscribe and view links and, when tracking is on, rewritten
click links and the open pixel. When the campaign has started and the subscriber has an
outbox row, the links carry that row (they are the links they were or will be sent);
before that they carry the placeholder row 0, which no link handler will accept.

``sendwell campaigns render`` writes :attr:`Preview.message` as it is: the RFC 5322
bytes with their DKIM signature, only the ``Date`` and the random part of the
``Message-ID`` differing from the message the worker sends.

:func:`preview_template` renders a library template (no campaign yet) with a sample or a
real subscriber, the installation's sender identity and placeholder links;
:func:`preview_draft` does the same for a template not saved yet and
:func:`preview_campaign_source` for a campaign's unsaved content (editors' live previews).
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Connection, and_, exists, select

from sendwell.audience.subscribers import get_subscriber
from sendwell.campaigns.builder import CampaignMessageBuilder, Person
from sendwell.campaigns.sender import CampaignSender, SenderDefaults
from sendwell.campaigns.service import get_campaign
from sendwell.compose.links import recipient_links
from sendwell.content.compile import ContentSource, Layout, compile_content
from sendwell.content.context import sample_context
from sendwell.content.library import (
    TemplateDraft,
    TemplateRecord,
    as_layout,
    attribute_samples,
    get_template,
)
from sendwell.content.templates import RenderedContent, compile_template, subscriber_context
from sendwell.content.text import html_to_text
from sendwell.delivery.jobs import BuildFailure, OutboxJob
from sendwell.errors import TemplateError
from sendwell.store.schema import outbox, subscribers, subscriptions

PLACEHOLDER_OUTBOX_ID = 0  # row ids start at 1: links carrying 0 are refused everywhere
SAMPLE_EMAIL = "preview@example.com"
LAYOUT_FILLER = "The content of a campaign goes here."


@dataclass(frozen=True)
class Preview:
    campaign_id: int
    email: str  # the subscriber it is personalized for
    subject: str
    html: str
    text: str
    message: bytes  # the whole message, as it would be sent (DKIM-signed if keys exist)
    mail_from: str  # the envelope sender (VERP) it would be sent with
    outbox_id: int | None  # the subscriber's outbox row; None before the campaign started
    in_audience: bool  # whether the subscriber is on the campaign's lists (confirmed)


def _person(
    conn: Connection, list_ids: tuple[int, ...], email_address: str | None
) -> tuple[Person, int | None]:
    if email_address is not None:
        s = get_subscriber(conn, email_address)
        return Person(s.email, s.first_name, s.last_name, s.attributes), s.id
    row = conn.execute(
        select(subscribers)
        .join(subscriptions)
        .where(subscriptions.c.list_id.in_(list_ids), subscriptions.c.status == "confirmed")
        .order_by(subscribers.c.id)
        .limit(1)
    ).first()
    if row is None:
        return Person(SAMPLE_EMAIL, None, None, {}), None
    return Person(row.email, row.first_name, row.last_name, row.attributes or {}), int(row.id)


def sample_person(
    conn: Connection, campaign_id: int, email_address: str | None = None
) -> tuple[Person, int | None]:
    """The named subscriber, else the campaign's first confirmed one, else a placeholder;
    with the subscriber id (None for the placeholder)."""
    return _person(conn, get_campaign(conn, campaign_id).list_ids, email_address)


def preview_message(
    conn: Connection,
    builder: CampaignMessageBuilder,
    campaign_id: int,
    *,
    email_address: str | None = None,
) -> Preview:
    """The campaign's message for ``email_address`` (a subscriber), or for a sample one."""
    campaign = get_campaign(conn, campaign_id)
    person, subscriber_id = _person(conn, campaign.list_ids, email_address)
    row_id = None
    in_audience = False
    if subscriber_id is not None:
        row_id = conn.execute(
            select(outbox.c.id).where(
                outbox.c.campaign_id == campaign_id, outbox.c.subscriber_id == subscriber_id
            )
        ).scalar()
        in_audience = bool(
            conn.execute(
                select(
                    exists().where(
                        and_(
                            subscriptions.c.subscriber_id == subscriber_id,
                            subscriptions.c.list_id.in_(campaign.list_ids),
                            subscriptions.c.status == "confirmed",
                        )
                    )
                )
            ).scalar()
        )
    job = OutboxJob(
        row_id if row_id is not None else PLACEHOLDER_OUTBOX_ID, campaign_id, subscriber_id,
        person.email, person.email.rpartition("@")[2], 0, None,
    )  # fmt: skip
    built = builder.build_one(job, person)
    if isinstance(built, BuildFailure):
        raise TemplateError(f"campaign {campaign_id}: {built.reason}")
    subject, html, text = read_parts(built.data)
    return Preview(
        campaign_id, person.email, subject, html, text, built.data, built.mail_from,
        None if row_id is None else int(row_id), in_audience,
    )  # fmt: skip


def read_parts(data: bytes) -> tuple[str, str, str]:
    """Subject, HTML and text of a built message, decoded."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    html_part, text_part = msg.get_body(("html",)), msg.get_body(("plain",))
    return (
        str(msg["Subject"]),
        html_part.get_content() if html_part is not None else "",
        text_part.get_content() if text_part is not None else "",
    )


def preview_template(
    conn: Connection,
    template: TemplateRecord,
    *,
    email_address: str | None,
    sender: SenderDefaults,
    public_url: str,
    secret_key: bytes,
) -> RenderedContent:
    """A library template rendered for a subscriber (or the full sample subscriber); a
    layout is shown around a placeholder paragraph."""
    return preview_draft(
        conn, template.draft(), email_address=email_address, sender=sender,
        public_url=public_url, secret_key=secret_key,
    )  # fmt: skip


def preview_draft(
    conn: Connection,
    draft: TemplateDraft,
    *,
    email_address: str | None,
    sender: SenderDefaults,
    public_url: str,
    secret_key: bytes,
) -> RenderedContent:
    """:func:`preview_template` for a template not saved yet (an editor's live preview).
    Errors raise :class:`TemplateError`; check the draft first to get each with its line."""
    if draft.kind == "layout":
        layout = Layout(draft.name, draft.format, draft.body, draft.text)
        source = ContentSource(
            "html", "Layout preview", f"<p>{LAYOUT_FILLER}</p>", LAYOUT_FILLER, layout
        )
    else:
        layout_of_draft = (
            as_layout(get_template(conn, draft.layout)) if draft.layout is not None else None
        )
        source = ContentSource(draft.format, draft.subject, draft.body, draft.text, layout_of_draft)
    context = sample_context(full=True, attributes=attribute_samples(conn))
    if email_address is not None:
        s = get_subscriber(conn, email_address)
        context["subscriber"] = subscriber_context(
            email=s.email, first_name=s.first_name, last_name=s.last_name,
            attributes=s.attributes,
        )  # fmt: skip
    context["campaign"] = {"id": 0, "name": draft.name, "subject": draft.subject}
    context["sender"].update(organization=sender.organization, postal_address=sender.postal_address)
    return _render_source(source, context, public_url=public_url, secret_key=secret_key)


def preview_campaign_source(
    conn: Connection,
    campaign_id: int,
    source: ContentSource,
    *,
    email_address: str | None,
    sender: CampaignSender,
    public_url: str,
    secret_key: bytes,
) -> tuple[RenderedContent, str]:
    """Content not saved yet, rendered as the campaign would render it for a subscriber
    (default: its first confirmed one), with its sender identity and placeholder links.

    For an editor's live preview: the saved content's exact message, with tracking, comes
    from :func:`preview_message`. Returns the rendering and the address it is for.
    """
    campaign = get_campaign(conn, campaign_id)
    person, _ = _person(conn, campaign.list_ids, email_address)
    context = sample_context(full=True, attributes=attribute_samples(conn))
    context["subscriber"] = subscriber_context(
        email=person.email, first_name=person.first_name, last_name=person.last_name,
        attributes=person.attributes,
    )  # fmt: skip
    context["campaign"] = {"id": campaign.id, "name": campaign.name, "subject": source.subject}
    context["sender"] = {
        "organization": sender.organization, "postal_address": sender.postal_address,
        "name": campaign.from_name, "email": campaign.from_email,
    }  # fmt: skip
    rendered = _render_source(source, context, public_url=public_url, secret_key=secret_key)
    return rendered, person.email


def _render_source(
    source: ContentSource, context: dict[str, Any], *, public_url: str, secret_key: bytes
) -> RenderedContent:
    compiled = compile_content(source)
    links = recipient_links(public_url, PLACEHOLDER_OUTBOX_ID, secret_key)
    context.update(
        unsubscribe_url=links.unsubscribe, preferences_url=links.preferences, view_url=links.view
    )
    rendered = compile_template(
        compiled.subject or "(no subject)", compiled.html, compiled.text, derive_text=True
    ).render(context)
    if rendered.text is None:
        return RenderedContent(rendered.subject, rendered.html, html_to_text(rendered.html))
    return rendered
