"""Campaign lifecycle and outbox materialization, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Connection, Engine, select

from sendwell.audience.lists import create_list
from sendwell.audience.records import MailingList, NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.audience.suppressions import suppress
from sendwell.campaigns.records import Campaign
from sendwell.campaigns.sender import SenderDefaults
from sendwell.campaigns.service import (
    campaign_status,
    cancel_campaign,
    counts_by_domain,
    create_campaign,
    pause_campaign,
    resume_campaign,
    start_campaign,
    update_draft,
)
from sendwell.clock import FrozenClock
from sendwell.errors import ConflictError, InvalidInput, NotFound, TemplateError
from sendwell.store.schema import outbox, subscriptions


def _campaign(
    conn: Connection,
    clock: FrozenClock,
    lists: list[MailingList],
    html: str = "<p>Hi {{ subscriber.first_name | default('there') }}</p>",
) -> Campaign:
    return create_campaign(
        conn,
        name="",
        subject="News for {{ subscriber.first_name | default('you') }}",
        from_email="news@example.com",
        from_name="News",
        html_template=html,
        text_template=None,
        list_ids=[ml.id for ml in lists],
        now=clock.now(),
    )


def _people(*emails: str) -> list[NewSubscriber]:
    return [NewSubscriber(e, e.split("@")[0].title()) for e in emails]


def test_start_materializes_one_row_per_eligible_recipient(
    engine: Engine, clock: FrozenClock
) -> None:
    now = clock.now()
    with engine.begin() as conn:
        a = create_list(conn, "A", now=now)
        b = create_list(conn, "B", now=now)
        dbl = create_list(conn, "Double", now=now, optin="double")
        add_subscribers(
            conn, _people("ann@x.com", "bob@y.com", "cy@x.com"), mailing_list=a, now=now
        )
        add_subscribers(
            conn, _people("ann@x.com", "dee@y.com", "eve@x.com"), mailing_list=b, now=now
        )  # ann on both lists: one row
        add_subscribers(conn, _people("unconfirmed@x.com"), mailing_list=dbl, now=now)
        suppress(conn, "bob@y.com", reason="hard_bounce", now=now)
        suppress(conn, "eve@x.com", reason="unsubscribe", now=now, list_id=b.id)
        # cy unsubscribed from A
        conn.execute(
            subscriptions.update()
            .where(subscriptions.c.list_id == a.id)
            .where(subscriptions.c.subscriber_id == 3)
            .values(status="unsubscribed")
        )
        campaign = _campaign(conn, clock, [a, b, dbl])
        status = start_campaign(conn, campaign.id, now=now)
        rows = {r.email: r.status for r in conn.execute(select(outbox.c.email, outbox.c.status))}
    assert rows == {
        "ann@x.com": "queued",
        "bob@y.com": "suppressed",
        "dee@y.com": "queued",
        "eve@x.com": "suppressed",
    }
    assert status.state == "running"
    assert status.counts["queued"] == 2 and status.counts["suppressed"] == 2
    assert status.as_json() == {
        "campaign": campaign.id,
        "state": "running",
        "counts": {
            "queued": 2,
            "deferred": 0,
            "delivered": 0,
            "bounced": 0,
            "expired": 0,
            "suppressed": 2,
            "excluded": 0,
            "skipped": 0,
            "cancelled": 0,
            "failed": 0,
        },
    }


def test_list_suppression_only_blocks_that_list(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    with engine.begin() as conn:
        a = create_list(conn, "A", now=now)
        b = create_list(conn, "B", now=now)
        add_subscribers(conn, _people("ann@x.com"), mailing_list=a, now=now)
        add_subscribers(conn, _people("ann@x.com"), mailing_list=b, now=now)
        suppress(conn, "ann@x.com", reason="unsubscribe", now=now, list_id=a.id)
        campaign = _campaign(conn, clock, [a, b])
        status = start_campaign(conn, campaign.id, now=now)
    assert status.counts["queued"] == 1


def test_a_campaign_starts_once(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        a = create_list(conn, "A", now=clock.now())
        add_subscribers(conn, _people("ann@x.com"), mailing_list=a, now=clock.now())
        campaign = _campaign(conn, clock, [a])
        start_campaign(conn, campaign.id, now=clock.now())
        with pytest.raises(ConflictError, match="not a draft"):
            start_campaign(conn, campaign.id, now=clock.now())
        assert campaign_status(conn, campaign.id).total == 1


def test_empty_audience_finishes_at_once(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        a = create_list(conn, "A", now=clock.now())
        campaign = _campaign(conn, clock, [a])
        assert start_campaign(conn, campaign.id, now=clock.now()).state == "finished"


def test_pause_resume_cancel(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        a = create_list(conn, "A", now=clock.now())
        add_subscribers(conn, _people("ann@x.com", "bob@x.com"), mailing_list=a, now=clock.now())
        campaign = _campaign(conn, clock, [a])
        with pytest.raises(ConflictError):
            pause_campaign(conn, campaign.id)
        start_campaign(conn, campaign.id, now=clock.now())
        assert pause_campaign(conn, campaign.id).state == "paused"
        assert resume_campaign(conn, campaign.id, now=clock.now()).state == "running"
        assert cancel_campaign(conn, campaign.id, now=clock.now()).state == "cancelled"
        status = campaign_status(conn, campaign.id)
        assert status.counts["cancelled"] == 2 and status.counts["queued"] == 0
        assert counts_by_domain(conn, campaign.id)["x.com"]["cancelled"] == 2
        with pytest.raises(ConflictError):
            resume_campaign(conn, campaign.id, now=clock.now())


def test_a_draft_changes_sender_lists_pool_and_tracking(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        a = create_list(conn, "A", now=clock.now())
        b = create_list(conn, "B", now=clock.now())
        campaign = _campaign(conn, clock, [a])
        assert campaign.tracking is True
        changed = update_draft(
            conn, campaign.id, name="Renamed", from_email="Team@Example.com",
            from_name="Team", list_ids=[b.id, a.id, b.id], pool="warm", tracking=False,
        )  # fmt: skip
        assert (changed.name, changed.from_email, changed.from_name) == (
            "Renamed", "team@example.com", "Team")  # fmt: skip
        assert changed.list_ids == (a.id, b.id) and changed.pool == "warm"
        assert changed.tracking is False
        assert update_draft(conn, campaign.id) == changed  # nothing given: nothing changes
        with pytest.raises(NotFound, match="no list with id 999"):
            update_draft(conn, campaign.id, list_ids=[a.id, 999])
        with pytest.raises(InvalidInput, match="at least one list"):
            update_draft(conn, campaign.id, list_ids=[])
        with pytest.raises(InvalidInput):
            update_draft(conn, campaign.id, from_email="not an address")
        assert update_draft(conn, campaign.id, tracking=True).list_ids == (a.id, b.id)
        start_campaign(conn, campaign.id, now=clock.now())
        with pytest.raises(ConflictError, match="only drafts"):
            update_draft(conn, campaign.id, name="Late")


def test_templates_are_checked_when_created(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        a = create_list(conn, "A", now=clock.now())
        with pytest.raises(TemplateError, match="line 2"):
            _campaign(conn, clock, [a], html="<p>ok</p>\n{% if %}")
        with pytest.raises(InvalidInput, match="at least one list"):
            _campaign(conn, clock, [])


def test_frequency_cap_skips_people_who_had_enough_campaigns(
    engine: Engine, clock: FrozenClock
) -> None:
    with engine.begin() as conn:
        a = create_list(conn, "A", now=clock.now())
        add_subscribers(conn, _people("ann@x.com", "bob@x.com"), mailing_list=a, now=clock.now())
        first = _campaign(conn, clock, [a])
        start_campaign(conn, first.id, now=clock.now())
        # ann's first message was delivered; bob's is still on its way (it counts too).
        conn.execute(
            outbox.update()
            .where(outbox.c.email == "ann@x.com")
            .values(status="delivered", done_at=clock.now())
        )
        second = _campaign(conn, clock, [a])
        assert start_campaign(conn, second.id, now=clock.now()).counts["queued"] == 2
        third = _campaign(conn, clock, [a])
        status = start_campaign(conn, third.id, now=clock.now())  # default: 2 per 30 days
        assert status.counts["skipped"] == 2 and status.counts["queued"] == 0
        # Outside the window the cap no longer applies; a cap of 0 turns it off.
        conn.execute(
            outbox.update().values(status="delivered", done_at=clock.now() - timedelta(days=31))
        )
        fourth = _campaign(conn, clock, [a])
        assert start_campaign(conn, fourth.id, now=clock.now()).counts["queued"] == 2
        fifth = _campaign(conn, clock, [a])
        uncapped = start_campaign(
            conn, fifth.id, now=clock.now(), defaults=SenderDefaults(frequency_cap_count=0)
        )
        assert uncapped.counts["queued"] == 2


def test_transactional_messages_do_not_count_toward_the_frequency_cap(
    engine: Engine, clock: FrozenClock
) -> None:
    from sendwell.store.schema import campaigns

    with engine.begin() as conn:
        a = create_list(conn, "A", now=clock.now())
        add_subscribers(conn, _people("ann@x.com"), mailing_list=a, now=clock.now())
        for _ in range(2):  # two delivered confirmation-stream messages
            c = _campaign(conn, clock, [a])
            start_campaign(
                conn, c.id, now=clock.now(), defaults=SenderDefaults(frequency_cap_count=0)
            )
            conn.execute(
                campaigns.update().where(campaigns.c.id == c.id).values(kind="confirmation")
            )
        conn.execute(outbox.update().values(status="delivered", done_at=clock.now()))
        news = _campaign(conn, clock, [a])
        assert start_campaign(conn, news.id, now=clock.now()).counts["queued"] == 1
