"""Storing results, history from suppressions, list runs and campaign policy, on each backend."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import Engine, not_, select

from sendwell.audience.addresses import address_hash
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.audience.suppressions import suppress
from sendwell.campaigns.service import create_campaign
from sendwell.clock import FrozenClock
from sendwell.store.schema import subscribers
from sendwell.store.schema_verify import verifications
from sendwell.verify.bulk import Verifier
from sendwell.verify.lists import ReferenceLists
from sendwell.verify.records import Reason
from sendwell.verify.service import (
    DatabaseHistory,
    audience_quality,
    excluded_condition,
    excluded_subscriber_ids,
    history_findings,
    list_members,
    list_results,
    store_verifications,
    verdict_counts,
    verify_list,
)
from sendwell.verify.verdict import Policy

PEOPLE = [
    "ann@example.com",  # valid
    "info@example.com",  # risky: role
    "x@mailinator.com",  # risky + disposable
    "gone@example.com",  # invalid: hard bounce on record
    "moaner@example.com",  # risky: complained
    "never@example.com",  # not verified
]


def _setup(engine: Engine, now: datetime) -> tuple[int, int]:
    with engine.begin() as conn:
        news = create_list(conn, "News", now=now)
        people = [NewSubscriber(e) for e in PEOPLE]
        add_subscribers(conn, people, mailing_list=news, now=now)
        suppress(conn, "gone@example.com", reason="hard_bounce", now=now)
        suppress(conn, "moaner@example.com", reason="complaint", now=now)
        campaign = create_campaign(
            conn,
            name="c",
            subject="s",
            from_email="news@example.com",
            from_name="",
            html_template="<p>hi</p>",
            text_template=None,
            list_ids=[news.id],
            now=now,
        )
    return news.id, campaign.id


def test_history_comes_from_suppressions(engine: Engine, clock: FrozenClock) -> None:
    _setup(engine, clock.now())
    with engine.connect() as conn:
        found = history_findings(conn, [address_hash(e) for e in PEOPLE])
    assert {h: [f.code for f in fs] for h, fs in found.items()} == {
        address_hash("gone@example.com"): [Reason.HARD_BOUNCED],
        address_hash("moaner@example.com"): [Reason.COMPLAINED],
    }


def test_list_run_stores_results_and_policy_excludes(engine: Engine, clock: FrozenClock) -> None:
    list_id, campaign_id = _setup(engine, clock.now())
    verifier = Verifier(lists=ReferenceLists.build(), history=DatabaseHistory(engine))
    # Verify everyone but the last person.
    with engine.begin() as conn:
        store_verifications(conn, verifier.verify_offline(PEOPLE[:-1]), now=clock.now())
    with engine.connect() as conn:
        rows = {
            r.email_hash: r
            for r in conn.execute(
                select(verifications, subscribers.c.email).join(
                    subscribers, subscribers.c.id == verifications.c.subscriber_id
                )
            )
        }
    by_email = {r.email: r for r in rows.values()}
    assert len(by_email) == 5
    assert by_email["ann@example.com"].verdict == "valid"
    assert by_email["x@mailinator.com"].disposable is True
    assert by_email["x@mailinator.com"].reason_codes == ",disposable,"
    assert by_email["gone@example.com"].verdict == "invalid"
    assert (
        by_email["gone@example.com"].reasons == [{"code": "hard_bounced", "detail": ""}]
        or by_email["gone@example.com"].reasons[0]["code"] == "hard_bounced"
    )

    with engine.connect() as conn:
        ids = {r.email: r.id for r in conn.execute(select(subscribers.c.id, subscribers.c.email))}
        excluded = excluded_subscriber_ids(conn, campaign_id, Policy())
        assert excluded == {ids["x@mailinator.com"], ids["gone@example.com"]}
        strict = Policy.from_text("invalid,risky", "")
        assert excluded_subscriber_ids(conn, campaign_id, strict) == {ids[e] for e in PEOPLE[1:5]}
        assert excluded_subscriber_ids(conn, campaign_id, Policy.from_text("", "")) == set()
        # The SQL condition composes into the campaign's own query.
        kept = (
            conn.execute(
                select(subscribers.c.email).where(
                    not_(excluded_condition(Policy(), subscribers.c.email_hash))
                )
            )
            .scalars()
            .all()
        )
        assert set(kept) == set(PEOPLE) - {"x@mailinator.com", "gone@example.com"}
        quality = audience_quality(conn, campaign_id, Policy())
    assert quality.total == 6 and quality.unverified == 1
    assert quality.excluded == 2
    assert quality.verdicts == {"valid": 1, "risky": 3, "invalid": 1, "unknown": 0}
    assert quality.risky == 3

    # A later run replaces the stored result (one row per address).
    summary = asyncio.run(verify_list(engine, verifier, list_id, now=clock.now))
    assert summary.total == 6
    assert summary.verdicts == {"valid": 2, "risky": 3, "invalid": 1, "unknown": 0}
    with engine.connect() as conn:
        assert len(conn.execute(select(verifications.c.id)).all()) == 6


def test_ad_hoc_results_without_a_subscriber(engine: Engine, clock: FrozenClock) -> None:
    verifier = Verifier(lists=ReferenceLists.build())
    with engine.begin() as conn:
        written = store_verifications(
            conn, verifier.verify_offline(["stranger@example.com", "bad@@x"]), now=clock.now()
        )
        assert written == 1  # an address with invalid syntax has no hash to key on
        row = conn.execute(select(verifications)).one()
    assert row.subscriber_id is None and row.checked_at == clock.now()


def test_list_results_and_verdict_counts(engine: Engine, clock: FrozenClock) -> None:
    list_id, _ = _setup(engine, clock.now())
    verifier = Verifier(lists=ReferenceLists.build(), history=DatabaseHistory(engine))
    with engine.begin() as conn:
        store_verifications(conn, verifier.verify_offline(PEOPLE[:-1]), now=clock.now())
    with engine.connect() as conn:
        assert list_members(conn, list_id) == 6
        assert verdict_counts(conn, list_id) == {
            "valid": 1, "risky": 3, "invalid": 1, "unknown": 0, "unverified": 1,
        }  # fmt: skip
        everyone = list_results(conn, list_id, limit=4)
        rest = list_results(conn, list_id, after=everyone[-1].subscriber_id, limit=4)
        assert [r.email for r in everyone + rest] == PEOPLE
        assert everyone[1].verification is not None
        assert everyone[1].verification.reasons == ("role",)
        assert rest[-1].verification is None
        invalid = list_results(conn, list_id, verdict="invalid")
        assert [(r.email, r.verification.verdict if r.verification else None) for r in invalid] == [
            ("gone@example.com", "invalid")
        ]
        never = list_results(conn, list_id, verdict="unverified")
        assert [r.email for r in never] == ["never@example.com"]
        assert list_results(conn, list_id + 1) == []
