"""Build the exact bytes a campaign would send (the workers' builder, DKIM-signed), for tests
that judge finished messages: spam scores, header injection, the shipped examples."""

from __future__ import annotations

from sqlalchemy import Engine

from sendwell.audience.lists import create_list
from sendwell.campaigns.builder import CampaignMessageBuilder, Person
from sendwell.campaigns.content import create_campaign_with_content
from sendwell.campaigns.sender import SenderDefaults
from sendwell.campaigns.service import create_campaign
from sendwell.clock import FrozenClock
from sendwell.content.library import content_source, get_template
from sendwell.content.shipped import install_example
from sendwell.delivery.jobs import BuildFailure, OutboxJob
from sendwell.domains.store import add_domain, find_domain

KEY = b"k" * 32
PUBLIC_URL = "https://news.example.com"
SENDER = SenderDefaults(
    organization="Example Gardens Ltd.", postal_address="12 Orchard Lane, Springfield, IL 62701"
)
FOOTER = (
    '<p style="color:#555;font-size:12px">You receive this because you subscribed to '
    "{{ sender.organization }} news. {{ sender.organization }}, {{ sender.postal_address }}. "
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a> · '
    '<a href="{{ preferences_url }}">Preferences</a></p>'
)


def build_sample(
    engine: Engine,
    clock: FrozenClock,
    *,
    subject: str,
    html: str,
    text: str | None = None,
    from_name: str = "Example Gardens",
    from_email: str = "news@example.com",
    person: Person | None = None,
    list_name: str = "Garden news",
    sender: SenderDefaults = SENDER,
    tracking: bool = True,
    feedback_sender: str = "sendwell",
    public_url: str = PUBLIC_URL,
) -> bytes:
    """One recipient's message for a new draft campaign; raises on a build failure."""
    now = clock.now()
    domain = from_email.rpartition("@")[2]
    with engine.begin() as conn:
        ml = create_list(conn, list_name, now=now)
        if find_domain(conn, domain) is None:
            add_domain(conn, domain, selector="s1", ed25519=False, secret_key=KEY, now=now)
        campaign = create_campaign(
            conn, name="", subject=subject, from_email=from_email, from_name=from_name,
            html_template=html, text_template=text, list_ids=[ml.id], now=now,
            tracking=tracking,
        )  # fmt: skip
    return _build(engine, clock, campaign.id, sender=sender, person=person,
                  feedback_sender=feedback_sender, public_url=public_url)  # fmt: skip


def build_example(
    engine: Engine, clock: FrozenClock, example: str, *, person: Person | None = None
) -> bytes:
    """One recipient's message for a campaign made from a shipped example template, the
    way ``templates add --example`` and ``campaigns create --template`` make it."""
    now = clock.now()
    with engine.begin() as conn:
        ml = create_list(conn, f"{example} readers", now=now)
        if find_domain(conn, "example.com") is None:
            add_domain(conn, "example.com", selector="s1", ed25519=False, secret_key=KEY, now=now)
        install_example(conn, example, now=now)
        template = get_template(conn, example)
        campaign = create_campaign_with_content(
            conn, content_source(conn, template), name="", from_email="news@example.com",
            from_name="Example Gardens", list_ids=[ml.id], now=now, origin=template,
        ).campaign  # fmt: skip
    return _build(engine, clock, campaign.id, person=person)


def _build(
    engine: Engine,
    clock: FrozenClock,
    campaign_id: int,
    *,
    sender: SenderDefaults = SENDER,
    person: Person | None = None,
    feedback_sender: str = "sendwell",
    public_url: str = PUBLIC_URL,
) -> bytes:
    builder = CampaignMessageBuilder(
        engine, clock=clock, secret_key=KEY, public_url=public_url, sender_defaults=sender,
        feedback_sender=feedback_sender,
    )  # fmt: skip
    who = person or Person("ann.reader@example.org", "Ann", "Reader", {"plan": "pro"})
    job = OutboxJob(1, campaign_id, None, who.email, who.email.rpartition("@")[2], 0, None)
    built = builder.build_one(job, who)
    if isinstance(built, BuildFailure):
        raise AssertionError(f"the sample does not build: {built.reason}")
    return built.data
