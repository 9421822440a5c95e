"""Per-site deliverability and median latency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from sendwell.clock import FrozenClock
from sendwell.reports.sites import SiteRow, site_of, site_report, summarize
from tests.reports.helpers import known_campaign


def test_site_of() -> None:
    assert site_of("gmail-smtp-in.l.google.com.", "gmail.com") == "google.com"
    assert site_of(None, "Example.ORG") == "example.org"


def test_summarize_medians_and_rates() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        SiteRow("a", "delivered", True, t, t + timedelta(seconds=s), False, False, False)
        for s in (1, 3, 100)
    ] + [SiteRow("a", "bounced", True, t, None, True, True, False)]
    (a,) = summarize(rows)
    assert a.median_latency_s == 3.0
    assert (a.delivery_rate, a.deferral_rate, a.bounce_rate) == (0.75, 0.25, 0.25)


def test_site_report(engine: Engine, clock: FrozenClock) -> None:
    s = known_campaign(engine, clock.now())
    with engine.connect() as conn:
        sites = {x.site: x for x in site_report(conn, [s.campaign_id])}
    google, yahoo = sites["google.sandbox"], sites["yahoo.sandbox"]
    assert (google.attempted, google.delivered, google.deferred, google.bounced) == (9, 8, 1, 1)
    assert google.complaint_rate == pytest.approx(1 / 8)
    assert google.median_latency_s == 2.0  # seven at 2 s, one at 600 s
    assert (yahoo.attempted, yahoo.bounced, yahoo.median_latency_s) == (1, 1, None)
