"""Lists, subscribers and suppressions on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from sendwell.audience.addresses import normalize
from sendwell.audience.lists import all_lists, create_list, find_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers, get_subscriber
from sendwell.audience.suppressions import is_suppressed, suppress
from sendwell.clock import FrozenClock
from sendwell.errors import ConflictError, InvalidInput, NotFound
from sendwell.store.schema import subscriptions


def test_create_and_find_lists(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        news = create_list(conn, "News", now=clock.now(), description="Weekly")
        create_list(conn, "Events", now=clock.now(), optin="double")
        with pytest.raises(ConflictError, match="already exists"):
            create_list(conn, "News", now=clock.now())
        with pytest.raises(InvalidInput):
            create_list(conn, "  ", now=clock.now())
        assert find_list(conn, "News") == news
        assert find_list(conn, str(news.id)) == news
        with pytest.raises(NotFound):
            find_list(conn, "Nope")
        assert [(ml.name, n) for ml, n in all_lists(conn)] == [("News", 0), ("Events", 0)]


def test_add_subscribers_upserts_and_dedupes(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=clock.now())
        result = add_subscribers(
            conn,
            [
                NewSubscriber("Ann@Example.com", "Ann", None, {"plan": "pro"}),
                NewSubscriber("ann@example.com", "Annie"),  # same person, same batch
                NewSubscriber("bob@example.com"),
            ],
            mailing_list=ml,
            now=clock.now(),
        )
        assert (result.added, result.updated) == (2, 0)
        result = add_subscribers(
            conn,
            [NewSubscriber("ANN@example.com", "Ann", "Lee", {"city": "Oslo"})],
            mailing_list=ml,
            now=clock.now(),
        )
        assert (result.added, result.updated) == (0, 1)
        ann = get_subscriber(conn, "ann@EXAMPLE.com")
        assert (ann.first_name, ann.last_name) == ("Ann", "Lee")
        assert ann.attributes == {"plan": "pro", "city": "Oslo"}
        assert [(m.name, n) for m, n in all_lists(conn)] == [("News", 2)]


def test_double_optin_list_subscriptions_start_unconfirmed(
    engine: Engine, clock: FrozenClock
) -> None:
    with engine.begin() as conn:
        ml = create_list(conn, "Events", now=clock.now(), optin="double")
        add_subscribers(conn, [NewSubscriber("a@example.com")], mailing_list=ml, now=clock.now())
        assert conn.execute(select(subscriptions.c.status)).scalar_one() == "unconfirmed"


def test_an_invalid_address_writes_nothing_of_its_batch(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=clock.now())
    with pytest.raises(InvalidInput), engine.begin() as conn:
        add_subscribers(
            conn,
            [NewSubscriber("ok@example.com"), NewSubscriber("bad@")],
            mailing_list=ml,
            now=clock.now(),
        )
    with engine.connect() as conn, pytest.raises(NotFound):
        get_subscriber(conn, "ok@example.com")


def test_suppressions_global_per_list_and_expiring(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    h = normalize("x@example.com").hash
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
        assert suppress(conn, "X@example.com", reason="manual", now=now)
        assert not suppress(conn, "x@example.com", reason="manual", now=now)
        assert is_suppressed(conn, h, now=now)
        suppress(conn, "y@example.com", reason="unsubscribe", now=now, list_id=ml.id)
        hy = normalize("y@example.com").hash
        assert not is_suppressed(conn, hy, now=now)
        assert is_suppressed(conn, hy, now=now, list_id=ml.id)
        suppress(
            conn,
            "z@example.com",
            reason="hard_bounce",
            now=now,
            expires_at=now + timedelta(days=30),
        )
        hz = normalize("z@example.com").hash
        assert is_suppressed(conn, hz, now=now + timedelta(days=29))
        assert not is_suppressed(conn, hz, now=now + timedelta(days=31))
