"""Double opt-in: signed expiring links, confirmation ahead of campaigns, welcome messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from sendwell.audience.addresses import normalize
from sendwell.audience.consent import Evidence, history
from sendwell.audience.lists import create_list
from sendwell.audience.optin import (
    PRIORITY_TRANSACTIONAL,
    confirm,
    confirm_url,
    confirmation_token,
    read_token,
    set_list_message,
    subscribe,
    withdraw,
)
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.audience.suppressions import suppress
from sendwell.campaigns.service import (
    all_campaigns,
    create_campaign,
    finish_if_done,
    start_campaign,
)
from sendwell.clock import FrozenClock
from sendwell.delivery.outbox import OutboxStore
from sendwell.errors import ConflictError, InvalidInput
from sendwell.store.schema import campaigns, outbox, subscriptions

KEY = b"k" * 32
FORM = Evidence(
    source="form",
    source_ref="https://example.com/join",
    ip="198.51.100.4",
    user_agent="Firefox",
    wording="Yes, send me the news",
    wording_version="2026-10",
)


def test_tokens_are_signed_and_expire(clock: FrozenClock) -> None:
    now = clock.now()
    token = confirmation_token(KEY, 12, 3, now)
    assert read_token(KEY, token, now=now + timedelta(days=6)) == (12, 3)
    with pytest.raises(InvalidInput, match="expired"):
        read_token(KEY, token, now=now + timedelta(days=8))
    with pytest.raises(InvalidInput, match="signature"):
        read_token(b"other" * 8, token, now=now)
    forged = token.replace("12.", "13.", 1)
    with pytest.raises(InvalidInput, match="signature"):
        read_token(KEY, forged, now=now)
    with pytest.raises(InvalidInput, match="malformed"):
        read_token(KEY, "x.y", now=now)
    assert confirm_url("https://mail.example/", KEY, 12, 3, now) == (
        f"https://mail.example/confirm/{token}"
    )


def _double_list(engine: Engine, clock: FrozenClock) -> tuple[int, object]:
    with engine.begin() as conn:
        ml = create_list(conn, "Events", now=clock.now(), optin="double")
        with pytest.raises(InvalidInput, match="confirm_url"):
            set_list_message(
                conn,
                ml,
                "confirmation",
                subject="Confirm",
                html_template="<p>no link</p>",
                from_email="news@example.com",
                now=clock.now(),
            )
        confirmation = set_list_message(
            conn,
            ml,
            "confirmation",
            subject="Please confirm",
            html_template='<a href="{{ confirm_url }}">confirm</a>',
            from_email="news@example.com",
            now=clock.now(),
        )
        set_list_message(
            conn,
            ml,
            "welcome",
            subject="Welcome",
            html_template="<p>Welcome {{ unsubscribe_url }}</p>",
            from_email="news@example.com",
            now=clock.now(),
        )
    return confirmation, ml


def test_double_optin_end_to_end(engine: Engine, clock: FrozenClock) -> None:
    confirmation_id, ml = _double_list(engine, clock)
    with engine.begin() as conn:
        # Campaign traffic queued earlier than the confirmation.
        add_subscribers(conn, [NewSubscriber("old@example.com")], mailing_list=ml, now=clock.now())  # type: ignore[arg-type]
        conn.execute(subscriptions.update().values(status="confirmed"))
        c = create_campaign(
            conn,
            name="n",
            subject="News",
            from_email="news@example.com",
            from_name="",
            html_template="<p>hi</p>",
            text_template=None,
            list_ids=[ml.id],  # type: ignore[attr-defined]
            now=clock.now(),
        )
        start_campaign(conn, c.id, now=clock.now())
        clock.advance(5)
        result = subscribe(conn, NewSubscriber("Ann@Example.com"), ml, FORM, now=clock.now())  # type: ignore[arg-type]
    assert result.status == "unconfirmed" and result.message_queued
    with engine.begin() as conn:
        row = conn.execute(
            select(outbox.c.campaign_id, outbox.c.priority, outbox.c.status).where(
                outbox.c.email == "ann@example.com"
            )
        ).one()
        assert tuple(row) == (confirmation_id, PRIORITY_TRANSACTIONAL, "queued")
        kinds = dict(conn.execute(select(campaigns.c.id, campaigns.c.kind)).all())
        assert kinds[confirmation_id] == "confirmation"
        # Never listed with campaigns, never finished even with nothing pending.
        assert [x.id for x in all_campaigns(conn)] == [c.id]
    leased = OutboxStore(engine).lease("w1", limit=1, lease_seconds=60, now=clock.now())
    assert [j.email for j in leased] == ["ann@example.com"], "confirmation overtakes the campaign"
    with engine.begin() as conn:
        conn.execute(outbox.update().values(status="delivered"))
        finish_if_done(conn, now=clock.now())
        states = dict(conn.execute(select(campaigns.c.id, campaigns.c.state)).all())
    assert states[confirmation_id] == "running"
    assert states[c.id] == "finished"

    token = confirmation_token(KEY, result.subscriber_id or 0, ml.id, clock.now())  # type: ignore[attr-defined]
    clock.advance(3600)
    with engine.begin() as conn:
        done = confirm(conn, token, clock.now(), "203.0.113.9", "Safari", key=KEY)
        again = confirm(conn, token, clock.now(), "203.0.113.9", "Safari", key=KEY)
        status = conn.execute(
            select(subscriptions.c.status).where(
                subscriptions.c.subscriber_id == result.subscriber_id
            )
        ).scalar_one()
        log = history(conn, normalize("ann@example.com"))
        welcome = conn.execute(
            select(campaigns.c.kind, outbox.c.status)
            .join(campaigns, campaigns.c.id == outbox.c.campaign_id)
            .where(outbox.c.subscriber_id == result.subscriber_id)
            .order_by(outbox.c.id)
        ).all()
    assert not done.already and again.already
    assert status == "confirmed"
    assert [e.action for e in log] == ["subscribe", "confirm"]
    sub, conf = log[0].evidence, log[1].evidence
    assert (sub.ip, sub.wording, sub.method, sub.lawful_basis) == (
        "198.51.100.4",
        "Yes, send me the news",
        "double_opt_in",
        "consent",
    )
    assert (conf.ip, conf.user_agent, conf.confirmed_at, conf.wording_version) == (
        "203.0.113.9",
        "Safari",
        clock.now(),
        "2026-10",
    )
    assert [tuple(w) for w in welcome] == [("confirmation", "delivered"), ("welcome", "queued")]


def test_only_confirmed_subscriptions_receive_campaigns(engine: Engine, clock: FrozenClock) -> None:
    _, ml = _double_list(engine, clock)
    with engine.begin() as conn:
        subscribe(conn, NewSubscriber("ann@example.com"), ml, FORM, now=clock.now())  # type: ignore[arg-type]
        c = create_campaign(
            conn,
            name="n",
            subject="News",
            from_email="news@example.com",
            from_name="",
            html_template="<p>hi</p>",
            text_template=None,
            list_ids=[ml.id],  # type: ignore[attr-defined]
            now=clock.now(),
        )
        status = start_campaign(conn, c.id, now=clock.now())
    assert status.total == 0


def test_subscribe_refusals_and_withdrawal(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        bare = create_list(conn, "Bare", now=clock.now(), optin="double")
        with pytest.raises(ConflictError, match="no confirmation message"):
            subscribe(conn, NewSubscriber("a@example.com"), bare, FORM, now=clock.now())
        single = create_list(conn, "Single", now=clock.now())
        suppress(conn, "gone@example.com", reason="complaint", now=clock.now())
        assert (
            subscribe(conn, NewSubscriber("gone@example.com"), single, FORM, now=clock.now()).status
            == "suppressed"
        )
        ok = subscribe(conn, NewSubscriber("b@example.com"), single, FORM, now=clock.now())
        assert (ok.status, ok.message_queued) == ("confirmed", False)
        assert withdraw(conn, "b@example.com", Evidence(source="link"), now=clock.now()) == 1
        # Subscribing again is new consent: the subscription comes back.
        again = subscribe(conn, NewSubscriber("b@example.com"), single, FORM, now=clock.now())
        assert again.status == "confirmed"
        actions = [e.action for e in history(conn, normalize("b@example.com"))]
    assert actions == ["subscribe", "unsubscribe", "subscribe"]
