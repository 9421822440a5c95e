"""Seed a sent campaign for tracking, web and report tests."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message

from sqlalchemy import Engine, select, update

from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.builder import CampaignMessageBuilder, Person
from sendwell.campaigns.sender import SenderDefaults, set_campaign_settings
from sendwell.campaigns.service import create_campaign, start_campaign
from sendwell.clock import Clock
from sendwell.delivery.jobs import OutboxJob, PreparedMessage
from sendwell.store.schema import outbox

KEY = b"test-key"
NO_CAP = SenderDefaults(frequency_cap_count=0)
PUBLIC = "http://testserver"
HTML = (
    "<html><body><p>Hi {{ subscriber.first_name }}</p>"
    '<a href="https://shop.example.com/sale?from=mail&amp;x=1">Sale</a> '
    '<a href="https://blog.example.com/post">Post</a> '
    '<a href="https://example.com/third">Third</a> '
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a> <a href="{{ preferences_url }}">Prefs</a>'
    ' <a href="{{ view_url }}">View</a>'
    "<p>{{ sender.organization }}, {{ sender.postal_address }}</p></body></html>"
)


@dataclass(frozen=True)
class Seeded:
    campaign_id: int
    outbox_ids: list[int]
    news_id: int
    offers_id: int
    delivered_at: datetime


def seed(
    engine: Engine,
    now: datetime,
    *,
    people: int = 2,
    tracking: bool = True,
    delivered_ago: float = 3600.0,
    name: str = "C",
) -> Seeded:
    """``people`` subscribers on News and Offers, a started campaign to News, every row
    delivered ``delivered_ago`` seconds before ``now``."""
    with engine.begin() as conn:
        news = create_list(conn, f"News {name}", now=now, description="weekly")
        offers = create_list(conn, f"Offers {name}", now=now)
        folks = [
            NewSubscriber(f"p{i}.{name.lower()}@gmail.sandbox", f"P{i}") for i in range(people)
        ]
        add_subscribers(conn, folks, mailing_list=news, now=now)
        add_subscribers(conn, folks, mailing_list=offers, now=now)
        campaign = create_campaign(
            conn,
            name=name,
            subject="Hello",
            from_email="news@example.com",
            from_name="News",
            html_template=HTML,
            text_template=None,
            list_ids=[news.id],
            now=now,
            tracking=tracking,
        )
        set_campaign_settings(
            conn, campaign.id, organization="Example Inc.", postal_address="1 Main St"
        )
        start_campaign(conn, campaign.id, now=now, defaults=NO_CAP)
        delivered = now - timedelta(seconds=delivered_ago)
        conn.execute(
            update(outbox)
            .where(outbox.c.campaign_id == campaign.id)
            .values(
                status="delivered",
                attempts=1,
                first_attempt_at=delivered - timedelta(seconds=2),
                done_at=delivered,
                mx_host="gmail-smtp-in.l.google.sandbox",
            )
        )
        ids = list(
            conn.execute(
                select(outbox.c.id).where(outbox.c.campaign_id == campaign.id).order_by(outbox.c.id)
            ).scalars()
        )
    return Seeded(campaign.id, ids, news.id, offers.id, delivered)


def message_html(engine: Engine, clock: Clock, outbox_id: int) -> str:
    """The HTML part of one outbox row's message, as the worker would send it."""
    with engine.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).one()
    builder = CampaignMessageBuilder(engine, clock=clock, secret_key=KEY, public_url=PUBLIC)
    job = OutboxJob(row.id, row.campaign_id, row.subscriber_id, row.email, row.domain, 0, None)
    built = builder.build_one(job, Person(row.email, "P", None, {}))
    assert isinstance(built, PreparedMessage), built
    for part in email.message_from_bytes(built.data).walk():
        if isinstance(part, Message) and part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no HTML part")


def urls(html: str, prefix: str) -> list[str]:
    """Paths (``/c/...``) of the public URLs in ``html`` that start with ``prefix``."""
    return [
        u[len(PUBLIC) :]
        for u in re.findall(r'(?:href|src)="([^"]+)"', html)
        if u.startswith(PUBLIC + prefix)
    ]
