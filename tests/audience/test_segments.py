"""The segment language on SQLite and PostgreSQL, and segments as campaign audiences."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, String, and_, func, literal, select, text, update

from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.segments import (
    _AsNumber,
    compile_segment,
    count_matching,
    create_segment,
    delete_segment,
    find_segment,
    get_segment,
    matching_ids,
    update_segment,
)
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.service import create_campaign, start_campaign
from sendwell.clock import FrozenClock
from sendwell.errors import ConflictError, InvalidInput, NotFound
from sendwell.store.schema import outbox, subscribers, subscriptions
from tests.audience.helpers import event, sid


def _world(conn: Connection, clock: FrozenClock) -> tuple[int, int]:
    now = clock.now()
    news = create_list(conn, "News", now=now)
    deals = create_list(conn, "Deals", now=now)
    add_subscribers(
        conn,
        [
            NewSubscriber(
                "ann@gmail.com", "Ann", None, {"plan": "pro", "age": "34", "tags": "vip,eu"}
            ),
            NewSubscriber("bob@yahoo.com", "Bob", None, {"plan": "free", "age": "19"}),
            NewSubscriber("cy@gmail.com", None, None, {"plan": "pro", "age": "n/a"}),
            NewSubscriber("dee@corp.example", None, None, {}),
        ],
        mailing_list=news,
        now=now,
    )
    add_subscribers(
        conn,
        [NewSubscriber("ann@gmail.com"), NewSubscriber("eve@x.org")],
        mailing_list=deals,
        now=now,
    )
    # Bob joined News a year ago.
    conn.execute(
        update(subscriptions)
        .where(subscriptions.c.subscriber_id == sid(conn, "bob@yahoo.com"))
        .values(created_at=now - timedelta(days=365))
    )
    return news.id, deals.id


def _match(conn: Connection, clock: FrozenClock, definition: Any) -> list[str]:
    cond = compile_segment(definition, now=clock.now())
    return sorted(conn.execute(select(subscribers.c.email).where(cond)).scalars().all())


def test_attribute_operators(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        _world(conn, clock)
        m = lambda d: _match(conn, clock, d)  # noqa: E731
        assert m({"attr": "plan", "op": "=", "value": "pro"}) == ["ann@gmail.com", "cy@gmail.com"]
        assert m({"attr": "plan", "op": "!=", "value": "pro"}) == [
            "bob@yahoo.com",
            "dee@corp.example",
            "eve@x.org",
        ]
        assert m({"attr": "age", "op": ">", "value": 20}) == ["ann@gmail.com"]
        assert m({"attr": "age", "op": "<", "value": 20}) == ["bob@yahoo.com"]
        # Same shape, another attribute: the compiled SQL must not be the cached one above.
        assert m({"attr": "tags", "op": ">", "value": 0}) == []
        assert m({"attr": "tags", "op": "contains", "value": "VIP"}) == ["ann@gmail.com"]
        assert m({"attr": "plan", "op": "in", "value": ["free", "gold"]}) == ["bob@yahoo.com"]
        assert m({"attr": "age", "op": "exists"}) == [
            "ann@gmail.com",
            "bob@yahoo.com",
            "cy@gmail.com",
        ]
        assert m({"field": "domain", "op": "=", "value": "gmail.com"}) == [
            "ann@gmail.com",
            "cy@gmail.com",
        ]
        # LIKE wildcards in a value are matched literally.
        assert m({"attr": "tags", "op": "contains", "value": "%"}) == []
        assert m(
            {
                "all": [
                    {"attr": "plan", "value": "pro"},
                    {"not": {"field": "first_name", "op": "exists"}},
                ]
            }
        ) == ["cy@gmail.com"]


def test_not_keeps_people_without_the_attribute(engine: Engine, clock: FrozenClock) -> None:
    """A comparison is true or false, never SQL's unknown: "not plan = pro" is everyone
    "plan = pro" is not, including Dee (no attributes) and Eve, like "plan != pro"."""
    with engine.begin() as conn:
        news, _ = _world(conn, clock)
        everyone = _match(conn, clock, {"all": []})
        for cond in (
            {"attr": "plan", "op": "=", "value": "pro"},
            {"attr": "age", "op": ">", "value": 20},
            {"attr": "tags", "op": "contains", "value": "vip"},
            {"attr": "plan", "op": "in", "value": ["free", "gold"]},
            {"field": "first_name", "op": "=", "value": "Ann"},
        ):
            matched = _match(conn, clock, cond)
            assert _match(conn, clock, {"not": cond}) == sorted(set(everyone) - set(matched))
        assert _match(conn, clock, {"not": {"attr": "plan", "value": "pro"}}) == _match(
            conn, clock, {"attr": "plan", "op": "!=", "value": "pro"}
        )
        # A campaign excluding "plan = pro" still reaches Dee, who has no plan at all.
        pro = create_segment(conn, "Pro", {"attr": "plan", "value": "pro"}, now=clock.now())
        c = create_campaign(
            conn, name="n", subject="Hi", from_email="news@example.com", from_name="",
            html_template="<p>hi</p>", text_template=None, list_ids=[news], now=clock.now(),
            exclude_segment_ids=[pro],
        )  # fmt: skip
        start_campaign(conn, c.id, now=clock.now())
        emails = conn.execute(select(outbox.c.email).where(outbox.c.campaign_id == c.id))
        assert sorted(emails.scalars()) == ["bob@yahoo.com", "dee@corp.example"]


def test_lists_dates_engagement_and_history(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    with engine.begin() as conn:
        news, deals = _world(conn, clock)
        event(conn, "ann@gmail.com", "open", now - timedelta(days=3))
        event(conn, "bob@yahoo.com", "open", now - timedelta(days=40))
        event(conn, "cy@gmail.com", "click", now - timedelta(days=1))
        m = lambda d: _match(conn, clock, d)  # noqa: E731
        assert m({"list": deals}) == ["ann@gmail.com", "eve@x.org"]
        assert m({"any": [{"list": deals}, {"attr": "plan", "value": "free"}]}) == [
            "ann@gmail.com",
            "bob@yahoo.com",
            "eve@x.org",
        ]
        assert m({"subscribed": {"list": news, "within_days": 30}}) == [
            "ann@gmail.com",
            "cy@gmail.com",
            "dee@corp.example",
        ]
        assert m({"subscribed": {"before": (now - timedelta(days=100)).isoformat()}}) == [
            "bob@yahoo.com"
        ]
        assert m({"opened_within_days": 7}) == ["ann@gmail.com"]
        assert m({"opened_within_days": 60}) == ["ann@gmail.com", "bob@yahoo.com"]
        assert m({"clicked_within_days": 7}) == ["cy@gmail.com"]
        assert m({"never_opened": True}) == ["cy@gmail.com", "dee@corp.example", "eve@x.org"]


def test_counts_from_a_list_match_the_plain_condition(engine: Engine, clock: FrozenClock) -> None:
    """A count reads a list filter at the top of a definition as a join from the list's
    members; it must count exactly the active people the condition alone matches."""
    now = clock.now()
    with engine.begin() as conn:
        news, deals = _world(conn, clock)
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.subscriber_id == sid(conn, "eve@x.org"))
            .values(status="unsubscribed")
        )
        conn.execute(
            update(subscribers)
            .where(subscribers.c.email == "bob@yahoo.com")
            .values(status="blocked")
        )
        counts = []
        for definition in [
            {"list": news},
            {"list": deals, "status": "unsubscribed"},
            {"list": news, "status": "unconfirmed"},
            {"all": [{"attr": "plan", "value": "pro"}, {"list": news}]},
            {"all": [{"list": news}, {"list": deals}]},
            {"all": [{"list": news}, {"attr": "age", "op": ">", "value": 18}]},
            {"all": [{"list": deals}, {"not": {"list": news}}]},
            {"all": [{"list": news}]},
            {"all": [{"list": 999}]},
            {"any": [{"list": deals}, {"attr": "plan", "value": "free"}]},
            {"not": {"list": news}},
            # Read as an attribute filter (its "list" key is ignored), not a list filter.
            {"list": news, "attr": "plan", "value": "pro"},
        ]:
            plain = conn.execute(
                select(func.count())
                .select_from(subscribers)
                .where(and_(subscribers.c.status == "active", compile_segment(definition, now=now)))
            ).scalar_one()
            assert (definition, count_matching(conn, definition, now=now)) == (definition, plain)
            counts.append(plain)
        assert counts == [3, 1, 0, 2, 1, 1, 0, 3, 0, 1, 1, 2]
        for bad in ({"all": [{"list": news, "status": "gone"}]}, {"all": [{"list": -1}]}):
            with pytest.raises(InvalidInput):
                count_matching(conn, bad, now=now)


def _deep(n: int) -> dict[str, Any]:
    d: dict[str, Any] = {"attr": "plan", "value": "x"}
    for _ in range(n):
        d = {"not": d}
    return d


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"attr": "x'; DROP TABLE subscribers; --", "value": 1}, "bad attribute name"),
        ({"attr": "plan", "op": "LIKE", "value": "x"}, "unknown operator"),
        ({"attr": "plan", "op": "in", "value": "x"}, "non-empty list"),
        ({"list": "News"}, "whole number"),
        ({"subscribed": {"after": "yesterday"}}, "ISO date"),
        ({"sql": "1=1"}, "unknown segment filter"),
        ({"list": 2**70}, "whole number"),
        ({"opened_within_days": 10**9}, "at most"),
        ({"subscribed": {"within_days": 10**6}}, "at most"),
        ({"attr": "age", "op": ">", "value": 10**400}, "too large"),
        ([], "JSON object"),
        (_deep(25), "too deeply"),
    ],
)
def test_bad_definitions_are_refused(clock: FrozenClock, definition: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        compile_segment(definition, now=clock.now())


# Texts around the edges of "a plain decimal number": signs, dots, leading zeros, the
# 64-bit integer limits, spaces, exponents, other scripts' digits.
_NUMBER_TEXTS = [
    *("", "0", "-0", "007", "18", "-5", "+5", "5-", "--5", "-", ".", "-."),
    *("1.5", "1.", ".5", "-.5", "1.2.3", "1..2", " 18", "18 ", "1e5", "1.0e+20"),
    *("9223372036854775807", "9223372036854775808", "-9223372036854775808"),
    *("-9223372036854775809", "99999999999999999999", "0x10", "abc", "1,5", "\u0661\u0662"),
]


def test_sqlite_reads_numbers_as_the_glob_rule_does(sqlite_engine: Engine) -> None:
    """Whole numbers take a shortcut on SQLite; every text must still read as the GLOB
    rule alone reads it (a number, or NULL so that comparisons skip it)."""
    rule = text(
        "SELECT CASE WHEN (:v NOT GLOB '*[^0-9.-]*' AND :v GLOB '*[0-9]*' "
        "AND :v NOT GLOB '?*-*' AND :v NOT GLOB '*.*.*') THEN CAST(:v AS REAL) END"
    )
    with sqlite_engine.connect() as conn:
        for value in _NUMBER_TEXTS:
            expected = conn.execute(rule, {"v": value}).scalar()
            got = conn.execute(select(_AsNumber(literal(value, String)))).scalar()
            assert (value, got) == (value, expected)


def test_saved_segments_and_campaign_audiences(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    with engine.begin() as conn:
        news, deals = _world(conn, clock)
        gmail = create_segment(conn, "Gmail", {"field": "domain", "value": "gmail.com"}, now=now)
        free = create_segment(conn, "Free", {"attr": "plan", "value": "free"}, now=now)
        ann = create_segment(conn, "Ann", {"field": "email", "value": "ann@gmail.com"}, now=now)
        with pytest.raises(ConflictError):
            create_segment(conn, "Gmail", {"list": 1}, now=now)
        assert count_matching(conn, find_segment(conn, "Gmail")[2], now=now) == 2
        # Both lists, the Gmail segment minus Ann: Ann (on both lists) is out, Cy is in once.
        c = create_campaign(
            conn,
            name="n",
            subject="Hi",
            from_email="news@example.com",
            from_name="",
            html_template="<p>hi</p>",
            text_template=None,
            list_ids=[news, deals],
            now=now,
            segment_id=gmail,
            exclude_segment_ids=[ann],
        )
        start_campaign(conn, c.id, now=now)
        rows = conn.execute(
            select(outbox.c.email, outbox.c.status).where(outbox.c.campaign_id == c.id)
        ).all()
        assert [tuple(r) for r in rows] == [("cy@gmail.com", "queued")]
        conn.execute(update(outbox).values(status="delivered", done_at=now))
        assert _match(conn, clock, {"received_campaign": c.id}) == ["cy@gmail.com"]
        assert "cy@gmail.com" not in _match(conn, clock, {"not_received_campaign": c.id})
        assert len(_match(conn, clock, {"not_received_campaign": c.id})) == 4
        with pytest.raises(ConflictError, match="used by a campaign"):
            delete_segment(conn, gmail)
        delete_segment(conn, free)


def test_sunset_rule_and_reengagement(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    with engine.begin() as conn:
        news, _ = _world(conn, clock)
        long_ago = now - timedelta(days=400)
        conn.execute(update(subscribers).values(created_at=long_ago))
        event(conn, "ann@gmail.com", "open", now - timedelta(days=10))
        event(conn, "bob@yahoo.com", "click", now - timedelta(days=200))
        # Dee is new: too new to be sunset.
        conn.execute(
            update(subscribers)
            .where(subscribers.c.email == "dee@corp.example")
            .values(created_at=now - timedelta(days=5))
        )

        def statuses(reengage: bool) -> dict[str, str]:
            c = create_campaign(
                conn,
                name="n",
                subject="Hi",
                from_email="news@example.com",
                from_name="",
                html_template="<p>hi</p>",
                text_template=None,
                list_ids=[news],
                now=now,
                reengage=reengage,
            )
            start_campaign(conn, c.id, now=now, sunset_days=180)
            return dict(
                conn.execute(
                    select(outbox.c.email, outbox.c.status).where(
                        and_(outbox.c.campaign_id == c.id)
                    )
                ).all()
            )

        assert statuses(False) == {
            "ann@gmail.com": "queued",
            "bob@yahoo.com": "skipped",
            "cy@gmail.com": "skipped",
            "dee@corp.example": "queued",
        }
        conn.execute(update(outbox).values(status="delivered", done_at=now - timedelta(days=90)))
        again = statuses(True)
    assert again["bob@yahoo.com"] == "queued" and again["cy@gmail.com"] == "queued"


def test_segments_are_renamed_redefined_and_list_their_members(
    engine: Engine, clock: FrozenClock
) -> None:
    now = clock.now()
    with engine.begin() as conn:
        _world(conn, clock)
        pro = create_segment(conn, "Pro", {"attr": "plan", "value": "pro"}, now=now)
        create_segment(conn, "Taken", {"attr": "plan", "value": "free"}, now=now)
        update_segment(conn, pro, name=" Gmail ", now=now)
        update_segment(conn, pro, definition={"field": "domain", "value": "gmail.com"}, now=now)
        assert get_segment(conn, pro) == (pro, "Gmail", {"field": "domain", "value": "gmail.com"})
        with pytest.raises(ConflictError):
            update_segment(conn, pro, name="Taken", now=now)
        with pytest.raises(InvalidInput):
            update_segment(conn, pro, definition={"sql": "1"}, now=now)
        with pytest.raises(InvalidInput):
            update_segment(conn, pro, name="  ", now=now)
        with pytest.raises(NotFound):
            update_segment(conn, 999, name="x", now=now)
        assert get_segment(conn, pro)[1] == "Gmail"  # refused changes changed nothing
        definition = get_segment(conn, pro)[2]
        first = matching_ids(conn, definition, now=now, limit=1)
        second = matching_ids(conn, definition, now=now, after=first[0], limit=1)
        emails = dict(conn.execute(select(subscribers.c.id, subscribers.c.email)).all())
        assert [emails[i] for i in first + second] == ["ann@gmail.com", "cy@gmail.com"]
        assert matching_ids(conn, definition, now=now, after=second[0]) == []
