"""A campaign's content: made from a library template or from files, kept as a snapshot.

A campaign copies what it is made from — the format, the body, the text version, the
layout's sources — into ``campaign_content``, together with the name and version of the
template it came from, and stores the compiled Jinja templates (format converted, layout
applied, CSS inlined) in ``campaigns.html_template`` / ``text_template``, which is what
the builder renders. So editing or deleting a library template never changes a campaign,
and a running campaign's messages are all made from the same content.

Content changes only while the campaign is a draft (:func:`edit_campaign_content`); each
change is checked like a template save (``content.validate``): errors refuse it, warnings
come back. Campaigns created without a snapshot (through :func:`service.create_campaign`
directly) read back as HTML content whose source is their HTML template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, delete, insert, select, update

from sendwell.campaigns.records import Campaign
from sendwell.campaigns.service import create_campaign, get_campaign
from sendwell.content.compile import CompiledContent, ContentSource, Layout, compile_content
from sendwell.content.formats import Format
from sendwell.content.library import (
    TemplateRecord,
    as_layout,
    attribute_samples,
    content_source,
    get_template,
)
from sendwell.content.validate import Problem, check_content
from sendwell.errors import ConflictError, InvalidInput, NotFound
from sendwell.store.schema import campaigns
from sendwell.store.schema_content import campaign_content as campaign_content_table


@dataclass(frozen=True)
class CampaignContent:
    """What a campaign was written in, and where it came from."""

    campaign_id: int
    format: Format
    body: str
    text: str | None
    layout: Layout | None
    template_name: str | None  # the library template it was made from, if any
    template_version: int | None

    def source(self, subject: str) -> ContentSource:
        return ContentSource(self.format, subject, self.body, self.text, self.layout)


@dataclass(frozen=True)
class ContentSaved:
    campaign: Campaign
    warnings: tuple[Problem, ...]


def content_from(
    conn: Connection,
    *,
    template: str | int | None,
    body: tuple[Format, str] | None,
    subject: str | None,
    text: str | None = None,
    layout: str | None = None,
) -> tuple[ContentSource, TemplateRecord | None]:
    """A campaign's content from exactly one of a library ``template`` (its subject, text
    and layout unless given here) or a ``body`` in a format; with the template it copies.

    What every interface offers when a campaign is created or its content replaced. A
    template or layout that does not exist is bad input here, not a missing object.
    """
    if (body is None) == (template is None):
        raise InvalidInput("give the content as exactly one of a library template or a body")
    chosen_layout = _library(conn, layout, "layout") if layout is not None else None
    if template is not None:
        record = _library(conn, template, "template")
        source = content_source(conn, record, subject=subject)
        if text is not None:
            source = replace(source, text=text)
        if chosen_layout is not None:
            source = replace(source, layout=as_layout(chosen_layout))
        return source, record
    assert body is not None
    return ContentSource(
        format=body[0], subject=subject or "", body=body[1], text=text,
        layout=as_layout(chosen_layout) if chosen_layout is not None else None,
    ), None  # fmt: skip


def _library(conn: Connection, ref: str | int, what: str) -> TemplateRecord:
    try:
        return get_template(conn, ref)
    except NotFound:
        raise InvalidInput(f"there is no {what} {ref!r} in the template library") from None


def check_and_compile(
    conn: Connection, source: ContentSource
) -> tuple[CompiledContent, tuple[Problem, ...]]:
    """Check ``source`` as a template save would; errors raise :class:`TemplateError`."""
    if not source.subject.strip():
        raise InvalidInput("a campaign needs a subject (give one, or use a template that has one)")
    check = check_content(
        kind="template", fmt=source.format, subject=source.subject, body=source.body,
        text=source.text, layout=source.layout, attributes=attribute_samples(conn),
    )  # fmt: skip
    check.raise_for_errors()
    return compile_content(source), tuple(check.warnings)


def create_campaign_with_content(
    conn: Connection,
    source: ContentSource,
    *,
    name: str,
    from_email: str,
    from_name: str,
    list_ids: Sequence[int],
    now: datetime,
    pool: str = "default",
    tracking: bool = True,
    origin: TemplateRecord | None = None,
) -> ContentSaved:
    """A draft campaign made from ``source`` (copied from ``origin`` when given); its name
    defaults to the template's name, else to the subject."""
    compiled, warnings = check_and_compile(conn, source)
    if not name and origin is not None:
        name = origin.name
    campaign = create_campaign(
        conn, name=name, subject=compiled.subject, from_email=from_email, from_name=from_name,
        html_template=compiled.html, text_template=compiled.text, list_ids=list(list_ids),
        now=now, pool=pool, tracking=tracking,
    )  # fmt: skip
    _write_snapshot(conn, campaign.id, source, origin, now)
    return ContentSaved(campaign, warnings)


def edit_campaign_content(
    conn: Connection,
    campaign_id: int,
    source: ContentSource,
    *,
    now: datetime,
    name: str | None = None,
    origin: TemplateRecord | None = None,
    keep_origin: bool = True,
) -> ContentSaved:
    """Replace a draft's subject and content (and name); the snapshot is rewritten.

    ``origin`` records a template the new content was copied from; without one, the
    previous origin is kept when ``keep_origin`` (the content was edited, not replaced).
    """
    campaign = get_campaign(conn, campaign_id)
    if campaign.state != "draft":
        raise ConflictError(
            f"campaign {campaign_id} is {campaign.state}; content changes only in a draft"
        )
    compiled, warnings = check_and_compile(conn, source)
    values: dict[str, object] = {
        "subject": compiled.subject,
        "html_template": compiled.html,
        "text_template": compiled.text,
    }
    if name is not None:
        if not name.strip():
            raise InvalidInput("a campaign name cannot be empty")
        values["name"] = name
    conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(**values))
    previous = campaign_content(conn, campaign_id) if origin is None and keep_origin else None
    _write_snapshot(conn, campaign_id, source, origin, now, previous=previous)
    return ContentSaved(get_campaign(conn, campaign_id), warnings)


def campaign_content(conn: Connection, campaign_id: int) -> CampaignContent:
    """The campaign's content snapshot (HTML made of its template for older campaigns)."""
    row = conn.execute(
        select(campaign_content_table).where(campaign_content_table.c.campaign_id == campaign_id)
    ).first()
    if row is None:
        campaign = get_campaign(conn, campaign_id)
        return CampaignContent(
            campaign_id, "html", campaign.html_template, campaign.text_template, None, None, None
        )
    m = row._mapping
    layout = None
    if m["layout_body"] is not None:
        layout = Layout(
            m["layout_name"] or "", cast(Format, m["layout_format"]), m["layout_body"],
            m["layout_text"],
        )  # fmt: skip
    return CampaignContent(
        campaign_id, cast(Format, m["format"]), m["body"], m["text_body"], layout,
        m["template_name"], m["template_version"],
    )  # fmt: skip


def _write_snapshot(
    conn: Connection,
    campaign_id: int,
    source: ContentSource,
    origin: TemplateRecord | None,
    now: datetime,
    *,
    previous: CampaignContent | None = None,
) -> None:
    layout = source.layout
    if origin is not None:
        provenance = {"template_id": origin.id, "template_name": origin.name,
                      "template_version": origin.version}  # fmt: skip
    elif previous is not None and previous.template_name is not None:
        old = conn.execute(
            select(campaign_content_table.c.template_id).where(
                campaign_content_table.c.campaign_id == campaign_id
            )
        ).scalar()
        provenance = {"template_id": old, "template_name": previous.template_name,
                      "template_version": previous.template_version}  # fmt: skip
    else:
        provenance = {"template_id": None, "template_name": None, "template_version": None}
    conn.execute(
        delete(campaign_content_table).where(campaign_content_table.c.campaign_id == campaign_id)
    )
    conn.execute(
        insert(campaign_content_table).values(
            campaign_id=campaign_id, format=source.format, body=source.body,
            text_body=source.text,
            layout_name=layout.name if layout else None,
            layout_format=layout.format if layout else None,
            layout_body=layout.body if layout else None,
            layout_text=layout.text if layout else None,
            updated_at=now, **provenance,
        )
    )  # fmt: skip
