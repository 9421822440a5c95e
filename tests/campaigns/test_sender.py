"""A campaign's sender identity: overrides fall back to the global settings."""

from __future__ import annotations

from sqlalchemy import Engine

from sendwell.audience.lists import create_list
from sendwell.campaigns.sender import (
    SenderDefaults,
    SenderOverrides,
    campaign_overrides,
    campaign_sender,
    set_campaign_settings,
)
from sendwell.campaigns.service import create_campaign
from sendwell.clock import FrozenClock

DEFAULTS = SenderDefaults(organization="Global Inc.", postal_address="1 Main St")


def test_overrides_replace_and_an_empty_value_restores_the_default(
    engine: Engine, clock: FrozenClock
) -> None:
    with engine.begin() as conn:
        ml = create_list(conn, "L", now=clock.now())
        c = create_campaign(
            conn, name="", subject="S", from_email="a@example.com", from_name="",
            html_template="<p>x</p>", text_template=None, list_ids=[ml.id], now=clock.now(),
        )  # fmt: skip
        assert campaign_sender(conn, c.id, DEFAULTS).organization == "Global Inc."
        assert campaign_overrides(conn, c.id) == SenderOverrides()
        set_campaign_settings(conn, c.id, organization="Shop Ltd", postal_address="2 High St")
        set_campaign_settings(conn, c.id, frequency_cap_count=5)  # None keeps the others
        sender = campaign_sender(conn, c.id, DEFAULTS)
        assert (sender.organization, sender.postal_address) == ("Shop Ltd", "2 High St")
        assert sender.frequency_cap_count == 5
        set_campaign_settings(conn, c.id, organization="")
        sender = campaign_sender(conn, c.id, DEFAULTS)
        assert (sender.organization, sender.postal_address) == ("Global Inc.", "2 High St")
        assert campaign_overrides(conn, c.id) == SenderOverrides(None, "2 High St", 5, None)
