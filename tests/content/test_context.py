"""The names templates are checked against are the names the builder really provides."""

from __future__ import annotations

from sqlalchemy import Engine, select

from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.builder import CampaignMessageBuilder
from sendwell.campaigns.service import create_campaign, start_campaign
from sendwell.clock import FrozenClock
from sendwell.content.context import (
    CAMPAIGN_KEYS,
    CONTEXT_NAMES,
    SENDER_KEYS,
    SUBSCRIBER_FIELDS,
    sample_context,
)
from sendwell.delivery.jobs import OutboxJob, PreparedMessage
from sendwell.store.schema import outbox


def test_every_declared_name_renders_through_the_builder(
    sqlite_engine: Engine, clock: FrozenClock
) -> None:
    uses = [f"{{{{ {n} }}}}" for n in sorted(CONTEXT_NAMES - {"campaign", "sender", "subscriber"})]
    uses += [f"{{{{ campaign.{k} }}}}" for k in sorted(CAMPAIGN_KEYS)]
    uses += [f"{{{{ sender.{k} }}}}" for k in sorted(SENDER_KEYS)]
    uses += [f"{{{{ subscriber.{k} }}}}" for k in sorted(SUBSCRIBER_FIELDS)]
    with sqlite_engine.begin() as conn:
        ml = create_list(conn, "L", now=clock.now())
        add_subscribers(conn, [NewSubscriber("a@example.com", "Ann", "Lee")], mailing_list=ml,
                        now=clock.now())  # fmt: skip
        c = create_campaign(
            conn, name="c", subject="s", from_email="n@example.com", from_name="N",
            html_template=" ".join(uses), text_template=None, list_ids=[ml.id], now=clock.now(),
        )  # fmt: skip
        start_campaign(conn, c.id, now=clock.now())
        row = conn.execute(select(outbox)).one()
    builder = CampaignMessageBuilder(sqlite_engine, clock=clock, secret_key=b"k")
    job = OutboxJob(row.id, c.id, row.subscriber_id, row.email, row.domain, 0, None)
    (built,) = builder.build([job])
    assert isinstance(built, PreparedMessage), built


def test_the_samples_have_the_builders_shape() -> None:
    full = sample_context(full=True, attributes={"plan": "pro"})
    minimal = sample_context(full=False, attributes={"plan": "pro"})
    assert set(full) == set(minimal) == CONTEXT_NAMES
    assert set(full["campaign"]) == CAMPAIGN_KEYS and set(full["sender"]) == SENDER_KEYS
    assert set(full["subscriber"]) == SUBSCRIBER_FIELDS | {"plan"}
    assert set(minimal["subscriber"]) == {"email", "attributes"}
    assert "content" in sample_context(full=True, attributes={}, layout=True)
