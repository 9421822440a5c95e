"""Per-site deliverability and median latency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from sendwell.clock import FrozenClock
from sendwell.reports.sites import SiteRow, progress_by_site, site_of, site_report, summarize
from sendwell.store.schema import outbox
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


def test_progress_by_site_files_queued_rows_under_their_domains_provider(
    engine: Engine, clock: FrozenClock
) -> None:
    s = known_campaign(engine, clock.now())
    ids = s.outbox_ids
    with engine.begin() as conn:
        # A Workspace domain: one row met Google's MX, two wait; a new domain waits.
        conn.execute(update(outbox).where(outbox.c.id.in_(ids[0:3])).values(domain="corp.example"))
        conn.execute(update(outbox).where(outbox.c.id.in_(ids[1:4])).values(
            status="queued", mx_host=None))  # fmt: skip
        conn.execute(update(outbox).where(outbox.c.id == ids[3]).values(domain="new.example"))
        progress = progress_by_site(conn, s.campaign_id)
    assert set(progress) == {"google.sandbox", "yahoo.sandbox", "new.example"}
    google = progress["google.sandbox"]
    assert (google["delivered"], google["queued"], google["bounced"]) == (5, 2, 1)
    assert progress["yahoo.sandbox"]["bounced"] == 1
    assert progress["new.example"]["queued"] == 1
    assert sum(sum(c.values()) for c in progress.values()) == len(ids)
