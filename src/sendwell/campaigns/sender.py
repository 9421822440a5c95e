"""A campaign's sender identity and pacing overrides (``campaign_settings``).

Each value falls back to the global setting when the campaign does not set it, so a
single-brand installation configures its postal address once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select

from sendwell.errors import InvalidInput
from sendwell.store.schema_content import campaign_settings


@dataclass(frozen=True)
class SenderDefaults:
    """The global settings a campaign falls back to."""

    organization: str = ""
    postal_address: str = ""
    frequency_cap_count: int = 2
    frequency_cap_days: int = 30


@dataclass(frozen=True)
class CampaignSender:
    """The effective values for one campaign."""

    organization: str
    postal_address: str
    frequency_cap_count: int
    frequency_cap_days: int


@dataclass(frozen=True)
class SenderOverrides:
    """What a campaign sets itself (None: the global setting applies)."""

    organization: str | None = None
    postal_address: str | None = None
    frequency_cap_count: int | None = None
    frequency_cap_days: int | None = None


def campaign_overrides(conn: Connection, campaign_id: int) -> SenderOverrides:
    row = conn.execute(
        select(campaign_settings).where(campaign_settings.c.campaign_id == campaign_id)
    ).first()
    if row is None:
        return SenderOverrides()
    return SenderOverrides(
        row.organization, row.postal_address, row.frequency_cap_count, row.frequency_cap_days
    )


def campaign_sender(conn: Connection, campaign_id: int, defaults: SenderDefaults) -> CampaignSender:
    row = conn.execute(
        select(campaign_settings).where(campaign_settings.c.campaign_id == campaign_id)
    ).first()
    m = row._mapping if row is not None else {}

    def pick(name: str, default: object) -> object:
        value = m.get(name)
        return default if value is None else value

    return CampaignSender(
        organization=str(pick("organization", defaults.organization)),
        postal_address=str(pick("postal_address", defaults.postal_address)),
        frequency_cap_count=int(pick("frequency_cap_count", defaults.frequency_cap_count)),  # type: ignore[call-overload]
        frequency_cap_days=int(pick("frequency_cap_days", defaults.frequency_cap_days)),  # type: ignore[call-overload]
    )


def set_campaign_settings(
    conn: Connection,
    campaign_id: int,
    *,
    organization: str | None = None,
    postal_address: str | None = None,
    frequency_cap_count: int | None = None,
    frequency_cap_days: int | None = None,
) -> None:
    """Store overrides (None keeps the current value, or the global default; an empty
    organization or postal address removes that override, so the global setting applies)."""
    if frequency_cap_count is not None and frequency_cap_count < 0:
        raise InvalidInput("the frequency cap count must be 0 (off) or more")
    if frequency_cap_days is not None and frequency_cap_days < 1:
        raise InvalidInput("the frequency cap window must be at least one day")
    row = conn.execute(
        select(campaign_settings).where(campaign_settings.c.campaign_id == campaign_id)
    ).first()
    values = dict(row._mapping) if row is not None else {"campaign_id": campaign_id}
    for name, value in (
        ("organization", organization),
        ("postal_address", postal_address),
        ("frequency_cap_count", frequency_cap_count),
        ("frequency_cap_days", frequency_cap_days),
    ):
        if value == "":
            values[name] = None
        elif value is not None:
            values[name] = value
    conn.execute(delete(campaign_settings).where(campaign_settings.c.campaign_id == campaign_id))
    conn.execute(insert(campaign_settings).values(**values))
