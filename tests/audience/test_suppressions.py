"""Suppressions: global and per list, reasons, expiry, removal, listing by hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from sendwell.audience.addresses import normalize
from sendwell.audience.lists import create_list
from sendwell.audience.suppressions import (
    check_reason,
    is_suppressed,
    list_suppressions,
    parse_expiry,
    suppress,
    suppress_hash,
    unsuppress,
)
from sendwell.clock import FrozenClock
from sendwell.errors import InvalidInput


def test_scopes_expiry_and_removal(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    h = normalize("ann@example.com").hash
    with engine.begin() as conn:
        news = create_list(conn, "News", now=now)
        assert suppress(conn, "ann@example.com", reason="unsubscribe", now=now, list_id=news.id)
        assert not is_suppressed(conn, h, now=now)
        assert is_suppressed(conn, h, now=now, list_id=news.id)
        assert suppress(
            conn, "Ann@Example.com", reason="manual", now=now, expires_at=now + timedelta(days=1)
        )
        assert not suppress(conn, "ann@example.com", reason="manual", now=now)
        assert is_suppressed(conn, h, now=now)
        assert not is_suppressed(conn, h, now=now + timedelta(days=2))
        assert [s.reason for s in list_suppressions(conn, now=now)] == ["unsubscribe", "manual"]
        assert [s.reason for s in list_suppressions(conn, now=now + timedelta(days=2))] == [
            "unsubscribe"
        ]
        assert unsuppress(conn, "ann@example.com") == 1
        assert unsuppress(conn, "ann@example.com", list_id=news.id) == 1
        assert list(list_suppressions(conn, now=now, include_expired=True)) == []
        # An erasure's suppression is never lifted.
        assert suppress_hash(conn, h, reason="erased", now=now)
        assert unsuppress(conn, "ann@example.com") == 0
        with pytest.raises(InvalidInput):
            suppress_hash(conn, "not-a-hash", reason="manual", now=now)
    with pytest.raises(InvalidInput):
        check_reason("annoying")


def test_expiry_dates_are_parsed_as_utc() -> None:
    assert parse_expiry("") is None
    assert parse_expiry(" 2027-01-31 ") == datetime(2027, 1, 31, tzinfo=UTC)
    assert parse_expiry("2027-01-31T10:00+01:00") == datetime(2027, 1, 31, 9, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="--expires 'soon' is not an ISO date"):
        parse_expiry("soon", "--expires")
