"""Withdrawals: scopes, pending messages stopped at once, consent log, idempotence."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from sendwell.audience.addresses import normalize
from sendwell.audience.suppressions import is_suppressed
from sendwell.campaigns.sender import set_campaign_settings
from sendwell.campaigns.service import create_campaign, start_campaign
from sendwell.clock import FrozenClock
from sendwell.store.schema import events, outbox, subscriptions
from sendwell.store.schema_audience import consent_events
from sendwell.tracking.unsubscribe import Request, recipient, withdraw
from tests.tracking.helpers import HTML, NO_CAP, seed


def _statuses(engine: Engine, subscriber_id: int) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                select(subscriptions.c.list_id, subscriptions.c.status).where(
                    subscriptions.c.subscriber_id == subscriber_id
                )
            ).all()
        )


def test_campaign_scope_leaves_other_lists_and_stops_pending_mail(
    engine: Engine, clock: FrozenClock
) -> None:
    now = clock.now()
    s = seed(engine, now)
    with engine.begin() as conn:
        # Two more campaigns already queued: one to News, one to Offers.
        queued = {}
        for name, list_id in (("next-news", s.news_id), ("next-offers", s.offers_id)):
            c = create_campaign(conn, name=name, subject="S", from_email="news@example.com",
                                from_name="N", html_template=HTML, text_template=None,
                                list_ids=[list_id], now=now)  # fmt: skip
            set_campaign_settings(conn, c.id, organization="E", postal_address="1 Main St")
            start_campaign(conn, c.id, now=now, defaults=NO_CAP)
            queued[name] = c.id
        who = recipient(conn, s.outbox_ids[0])
        assert who is not None and who.subscriber_id is not None
        assert withdraw(conn, who, "campaign", now=now, request=Request("one_click")) == 1
        # Repeating changes nothing and writes no second event.
        assert withdraw(conn, who, "campaign", now=now, request=Request("one_click")) == 0
        pending = dict(
            conn.execute(
                select(outbox.c.campaign_id, outbox.c.status).where(
                    outbox.c.subscriber_id == who.subscriber_id
                )
            ).all()
        )
        n_events = conn.execute(
            select(func.count()).select_from(events).where(events.c.kind == "unsubscribe")
        ).scalar()
        n_consent = conn.execute(select(func.count()).select_from(consent_events).where(
            consent_events.c.action == "unsubscribe")).scalar()  # fmt: skip
    assert _statuses(engine, who.subscriber_id) == {
        s.news_id: "unsubscribed",
        s.offers_id: "confirmed",
    }
    assert pending[queued["next-news"]] == "suppressed"
    assert pending[queued["next-offers"]] == "queued"
    assert n_events == 1 and n_consent == 1


def test_all_scope_suppresses_the_address(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    s = seed(engine, now)
    with engine.begin() as conn:
        who = recipient(conn, s.outbox_ids[1])
        assert who is not None and who.subscriber_id is not None
        withdraw(conn, who, "all", now=now, request=Request("page", ip="203.0.113.5"))
        assert is_suppressed(conn, normalize(who.email).hash, now=now)
    assert set(_statuses(engine, who.subscriber_id).values()) == {"unsubscribed"}


def test_lists_scope_only_touches_the_persons_own_lists(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    s = seed(engine, now)
    with engine.begin() as conn:
        who = recipient(conn, s.outbox_ids[0])
        assert who is not None and who.subscriber_id is not None
        withdraw(conn, who, "lists", now=now, request=Request("preferences"),
                 list_ids=[s.offers_id, 999])  # fmt: skip
    assert _statuses(engine, who.subscriber_id) == {
        s.news_id: "confirmed",
        s.offers_id: "unsubscribed",
    }
