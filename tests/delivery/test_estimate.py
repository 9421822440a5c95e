"""The delivery-plan estimate, with numbers a reader can check by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from sendwell.delivery.estimate import (
    DeliveryPlan,
    SiteDemand,
    SitePlan,
    WarmupState,
    estimate_delivery,
    warmup_day,
    waterfill,
)
from sendwell.delivery.shaping import Shaping, load_shaping, parse_shaping
from sendwell.errors import ConfigError

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
GMAIL = SiteDemand("alt1.gmail-smtp-in.l.google.com", 300, ("gmail.com",),
                   ("alt1.gmail-smtp-in.l.google.com",))  # fmt: skip


def _shaping(body: str, source: str = '[[source]]\nname = "ip1"\n') -> Shaping:
    return parse_shaping(body + "\n" + source, "<test>")


def _row(plan: DeliveryPlan, site: str, source: str | None = None) -> SitePlan:
    return next(r for r in plan.rows if r.site == site and (source is None or r.source == source))


def test_one_site_at_the_shipped_default_of_100_an_hour() -> None:
    # 300 recipients at Gmail, 100/h (the shipped default; Gmail's block sets no rate):
    # 3 hours. The source cap (400/10min = 2400/h) does not bind.
    plan = estimate_delivery([GMAIL], load_shaping(), pool="default", warmup={}, now=NOW)
    row = plan.rows[0]
    assert (row.provider, row.max_message_rate_per_hour, row.connection_limit) == ("gmail", 100, 5)
    assert row.source_rate_per_hour == pytest.approx(2400)
    assert row.warmup_day is None
    assert row.duration_seconds == pytest.approx(3 * 3600)
    assert plan.duration_seconds == pytest.approx(3 * 3600)
    assert plan.finishes_at == NOW + timedelta(hours=3)
    assert plan.recipients == 300


def test_the_source_cap_is_shared_by_its_sites() -> None:
    # 30 sites x 100 recipients, 100/h each would be 3000/h, but the source sends at most
    # 2400/h: each site gets 80/h, so every site (and the campaign) takes 100/80 h = 75 min.
    demand = [SiteDemand(f"mx.d{i}.example", 100, (f"d{i}.example",), (f"mx.d{i}.example",))
              for i in range(30)]  # fmt: skip
    plan = estimate_delivery(demand, load_shaping(), pool="default", warmup={}, now=NOW)
    assert {round(r.duration_seconds or 0) for r in plan.rows} == {75 * 60}
    assert plan.duration_seconds == pytest.approx(75 * 60)


def test_a_site_that_finishes_early_leaves_its_share_to_the_others() -> None:
    # Source cap 300/h, each site 200/h. A (100) and B (500) first get 150/h each: A is done
    # after 40 min, when B has sent 100; B then sends its last 400 at its own 200/h in 2 h.
    shaping = _shaping('[default]\nmax_message_rate = "200/h"\n'
                       '[source_default]\nmax_message_rate = "300/h"\n')  # fmt: skip
    a, b = SiteDemand("mx.a", 100, ("a.example",)), SiteDemand("mx.b", 500, ("b.example",))
    plan = estimate_delivery([a, b], shaping, pool="default", warmup={}, now=NOW)
    assert _row(plan, "mx.a").duration_seconds == pytest.approx(40 * 60)
    assert _row(plan, "mx.b").duration_seconds == pytest.approx(160 * 60)
    assert plan.duration_seconds == pytest.approx(160 * 60)


def test_connections_per_minute_times_deliveries_per_connection_caps_the_rate() -> None:
    # 1 new connection a minute x 5 messages each = 300/h, below the 1000/h message rate.
    shaping = _shaping('[default]\nmax_message_rate = "1000/h"\nmax_connection_rate = "1/min"\n'
                       "max_deliveries_per_connection = 5\n")  # fmt: skip
    plan = estimate_delivery([SiteDemand("mx.a", 600)], shaping, pool="default",
                             warmup={}, now=NOW)  # fmt: skip
    assert plan.rows[0].max_message_rate_per_hour == pytest.approx(300)
    assert plan.duration_seconds == pytest.approx(2 * 3600)


WARMUP = """
[source_default]
max_message_rate = "100000/h"
[warmup.w]
days = [{ day = 1, max_message_rate = "150/h" }, { day = 2, max_message_rate = "300/h" }]
"""


def test_warm_up_limits_step_up_at_midnight() -> None:
    # A new source (day 1: 150/h) starts at 22:00 with 600 recipients: 300 go out by
    # midnight; day 2 allows 300/h, so the other 300 take one more hour: done at 01:00.
    shaping = _shaping(WARMUP, '[[source]]\nname = "ip1"\nwarmup = "w"\n')
    start = datetime(2026, 11, 2, 22, 0, tzinfo=UTC)
    plan = estimate_delivery([SiteDemand("mx.a", 600)], shaping, pool="default",
                             warmup={}, now=start)  # fmt: skip
    row = plan.rows[0]
    assert (row.warmup_day, row.max_message_rate_per_hour) == (1, 150)
    assert plan.finishes_at == datetime(2026, 11, 3, 1, 0, tzinfo=UTC)
    assert "warm-up day 1 of 2" in plan.notes[0]


def test_warm_up_day_comes_from_the_days_the_source_sent() -> None:
    today = date(2026, 11, 2)
    assert warmup_day(None, today) == 1
    assert warmup_day(WarmupState(3, today), today) == 3  # already sent today: still day 3
    assert warmup_day(WarmupState(3, date(2026, 10, 20)), today) == 4  # next day it sends
    shaping = _shaping(WARMUP, '[[source]]\nname = "ip1"\nwarmup = "w"\n')
    sent_yesterday = {"ip1": WarmupState(1, date(2026, 11, 1))}
    plan = estimate_delivery([SiteDemand("mx.a", 600)], shaping, pool="default",
                             warmup=sent_yesterday, now=NOW)  # fmt: skip
    assert plan.rows[0].warmup_day == 2 and plan.duration_seconds == pytest.approx(2 * 3600)


def test_sources_of_a_pool_share_by_weight() -> None:
    shaping = _shaping("", '[[source]]\nname = "a"\nweight = 3\n[[source]]\nname = "b"\n')
    plan = estimate_delivery([SiteDemand("mx.a", 400)], shaping, pool="default",
                             warmup={}, now=NOW)  # fmt: skip
    # 300 from a and 100 from b, each source with its own 100/h to the site: 3 h overall.
    assert _row(plan, "mx.a", "a").recipients == pytest.approx(300)
    assert _row(plan, "mx.a", "b").duration_seconds == pytest.approx(3600)
    assert plan.duration_seconds == pytest.approx(3 * 3600)


def test_a_lumped_tail_of_small_sites_has_a_limit_per_site() -> None:
    # 50 domains of 2 recipients, each its own site at 100/h: 100 recipients in 72 s.
    shaping = _shaping('[source_default]\nmax_message_rate = "100000/h"\n')
    plan = estimate_delivery([SiteDemand("(50 other domains)", 100, sites=50)], shaping,
                             pool="default", warmup={}, now=NOW)  # fmt: skip
    assert plan.rows[0].duration_seconds == pytest.approx(100 / 5000 * 3600)
    # With the shipped source cap (2400/h) the source binds instead: 100/2400 h = 150 s.
    plan = estimate_delivery([SiteDemand("(50 other domains)", 100, sites=50)], load_shaping(),
                             pool="default", warmup={}, now=NOW)  # fmt: skip
    assert plan.rows[0].duration_seconds == pytest.approx(150)


def test_relay_sources_are_paced_by_the_relay_quota() -> None:
    shaping = _shaping('[[relay]]\nname = "esp"\nhost = "smtp.esp.example"\n'
                       'max_message_rate = "1200/h"\n',
                       '[[source]]\nname = "r"\nrelays = ["esp"]\n')  # fmt: skip
    plan = estimate_delivery([GMAIL], shaping, pool="default", warmup={}, now=NOW)
    assert plan.rows[0].provider == "relay:esp"
    assert plan.duration_seconds == pytest.approx(300 / 1200 * 3600)


def test_beyond_the_horizon_the_estimate_says_so() -> None:
    shaping = _shaping('[default]\nmax_message_rate = "1/d"\n')
    plan = estimate_delivery([SiteDemand("mx.a", 1000)], shaping, pool="default",
                             warmup={}, now=NOW)  # fmt: skip
    assert plan.duration_seconds is None and plan.finishes_at is None
    assert "more than 365 days" in plan.notes[-1]


def test_an_empty_audience_takes_no_time_and_an_unknown_pool_is_an_error() -> None:
    plan = estimate_delivery([], load_shaping(), pool="default", warmup={}, now=NOW)
    assert plan.duration_seconds == 0 and plan.rows == ()
    with pytest.raises(ConfigError, match="no source in pool"):
        estimate_delivery([GMAIL], load_shaping(), pool="bulk", warmup={}, now=NOW)


@pytest.mark.parametrize(
    ("total", "caps", "expected"),
    [(300, [200, 200], [150, 150]), (300, [50, 200, 200], [50, 125, 125]), (10, [], [])],
)
def test_waterfill(total: float, caps: list[float], expected: list[float]) -> None:
    assert waterfill(total, caps) == pytest.approx(expected)
