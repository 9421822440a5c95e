"""Creating and changing a draft campaign from the web: content, audience, sender, pool.

What the campaign wizard (admin UI) and ``POST/PATCH /api/v1/campaigns`` share. A
campaign is created in one transaction with everything the CLI sets in several
commands: its content snapshot (``campaigns create``: checked, compiled, CSS inlined),
its audience (``segments target``: a segment, excluded segments, re-engagement) and its
sender overrides (``campaigns settings``: organization, postal address).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from sendwell.app import App
from sendwell.audience.lists import get_list
from sendwell.campaigns.content import ContentSaved, create_campaign_with_content
from sendwell.campaigns.records import Campaign
from sendwell.campaigns.sender import set_campaign_settings
from sendwell.campaigns.service import (
    campaign_audience_of,
    get_campaign,
    set_campaign_audience,
    update_draft,
)
from sendwell.content.compile import ContentSource
from sendwell.content.library import TemplateRecord
from sendwell.errors import ConfigError, InvalidInput


@dataclass(frozen=True)
class Audience:
    segment_id: int | None = None
    exclude_segment_ids: tuple[int, ...] = ()
    reengage: bool = False


@dataclass(frozen=True)
class Setup:
    """Everything about a campaign but its content."""

    name: str
    from_email: str
    from_name: str
    list_ids: tuple[int, ...]
    pool: str = "default"
    tracking: bool = True
    audience: Audience = Audience()
    organization: str | None = None  # None: keep; "": use the installation's setting
    postal_address: str | None = None


def pools(a: App) -> list[str]:
    """The pools of sending sources in the shaping file."""
    return sorted({source.pool for source in a.shaping().sources})


def check_pool(a: App, name: str) -> str:
    try:
        return a.shaping().pool(name)[0].pool
    except ConfigError:
        raise InvalidInput(f"no sending pool named {name!r} in the shaping file") from None


def create(
    a: App, setup: Setup, source: ContentSource, origin: TemplateRecord | None
) -> ContentSaved:
    """A draft with its content, audience and sender overrides, all or nothing."""
    pool = check_pool(a, setup.pool)
    with a.engine.begin() as conn:
        for list_id in setup.list_ids:
            get_list(conn, list_id)
        saved = create_campaign_with_content(
            conn, source, name=setup.name, from_email=setup.from_email,
            from_name=setup.from_name, list_ids=setup.list_ids, now=a.clock.now(), pool=pool,
            tracking=setup.tracking, origin=origin,
        )  # fmt: skip
        _audience_and_sender(conn, saved.campaign.id, setup)
        return ContentSaved(get_campaign(conn, saved.campaign.id), saved.warnings)


def update(a: App, campaign_id: int, setup: Setup) -> Campaign:
    """Replace a draft's setup (its content stays)."""
    pool = check_pool(a, setup.pool)
    with a.engine.begin() as conn:
        for list_id in setup.list_ids:
            get_list(conn, list_id)
        update_draft(
            conn, campaign_id, name=setup.name or None, from_email=setup.from_email,
            from_name=setup.from_name, list_ids=setup.list_ids, pool=pool,
            tracking=setup.tracking,
        )  # fmt: skip
        _audience_and_sender(conn, campaign_id, setup)
        return get_campaign(conn, campaign_id)


def audience_of(a: App, campaign_id: int) -> Audience:
    with a.engine.connect() as conn:
        current = campaign_audience_of(conn, campaign_id)
    return Audience(current.segment_id, current.exclude_segment_ids, current.reengage)


def _audience_and_sender(conn: Connection, campaign_id: int, setup: Setup) -> None:
    excluded: Sequence[int] = setup.audience.exclude_segment_ids
    if setup.audience.segment_id is not None and setup.audience.segment_id in excluded:
        raise InvalidInput("a segment cannot be both the audience and excluded from it")
    set_campaign_audience(
        conn, campaign_id, segment_id=setup.audience.segment_id,
        exclude_segment_ids=excluded, reengage=setup.audience.reengage,
    )  # fmt: skip
    if setup.organization is not None or setup.postal_address is not None:
        set_campaign_settings(
            conn, campaign_id, organization=setup.organization, postal_address=setup.postal_address,
        )  # fmt: skip
