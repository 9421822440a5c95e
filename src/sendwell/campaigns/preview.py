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
real subscriber, the installation's sender identity and placeholder links.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import Connection, and_, exists, select

from sendwell.audience.subscribers import get_subscriber
from sendwell.campaigns.builder import CampaignMessageBuilder, Person
from sendwell.campaigns.sender import SenderDefaults
from sendwell.campaigns.service import get_campaign
from sendwell.compose.links import recipient_links
from sendwell.content.compile import ContentSource, compile_content
from sendwell.content.context import sample_context
from sendwell.content.library import (
    TemplateRecord,
    as_layout,
    attribute_samples,
    content_source,
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
    if template.kind == "layout":
        source = ContentSource(
            "html", "Layout preview", f"<p>{LAYOUT_FILLER}</p>", LAYOUT_FILLER, as_layout(template)
        )
    else:
        source = content_source(conn, template)
    compiled = compile_content(source)
    context = sample_context(full=True, attributes=attribute_samples(conn))
    if email_address is not None:
        s = get_subscriber(conn, email_address)
        context["subscriber"] = subscriber_context(
            email=s.email, first_name=s.first_name, last_name=s.last_name,
            attributes=s.attributes,
        )  # fmt: skip
    links = recipient_links(public_url, PLACEHOLDER_OUTBOX_ID, secret_key)
    context.update(
        campaign={"id": 0, "name": template.name, "subject": template.subject},
        unsubscribe_url=links.unsubscribe, preferences_url=links.preferences,
        view_url=links.view,
    )  # fmt: skip
    context["sender"].update(organization=sender.organization, postal_address=sender.postal_address)
    rendered = compile_template(
        compiled.subject or "(no subject)", compiled.html, compiled.text, derive_text=True
    ).render(context)
    if rendered.text is None:
        return RenderedContent(rendered.subject, rendered.html, html_to_text(rendered.html))
    return rendered
