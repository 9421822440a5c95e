"""Hourly and daily time series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from sendwell.clock import FrozenClock
from sendwell.reports.series import bucketize, time_series
from tests.reports.helpers import known_campaign

T = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_bucketize_fills_gaps() -> None:
    points = [(T, "open"), (T + timedelta(minutes=10), "open"), (T + timedelta(hours=3), "click")]
    hours = bucketize(points, "hour")
    assert [b.start.hour for b in hours] == [9, 10, 11, 12]
    assert [b.counts for b in hours] == [{"open": 2}, {}, {}, {"click": 1}]
    (day,) = bucketize(points, "day")
    assert day.counts == {"open": 2, "click": 1} and day.start.hour == 0
    assert bucketize([], "hour") == []


def test_time_series(engine: Engine, clock: FrozenClock) -> None:
    s = known_campaign(engine, clock.now())
    with engine.connect() as conn:
        hours = time_series(conn, s.campaign_id, "hour")
    totals: dict[str, int] = {}
    for b in hours:
        for k, v in b.counts.items():
            totals[k] = totals.get(k, 0) + v
    assert totals["delivered"] == 8 and totals["open"] == 2 and totals["click_machine"] == 1
    assert hours[0].start == datetime(2026, 11, 2, 7, 0, tzinfo=UTC)  # the deferral
