"""SVG charts render from real reports and escape what they show."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import Engine, update

from sendwell.clock import FrozenClock
from sendwell.reports.campaign import campaign_report
from sendwell.reports.charts import all_charts
from sendwell.reports.series import time_series
from sendwell.reports.sites import site_report
from sendwell.store.schema_tracking import tracking_links
from tests.reports.helpers import known_campaign


def test_all_charts_are_valid_svg(engine: Engine, clock: FrozenClock) -> None:
    s = known_campaign(engine, clock.now())
    with engine.begin() as conn:
        conn.execute(update(tracking_links).where(tracking_links.c.number == 2)
                     .values(url="https://x.example/<script>alert(1)</script>"))  # fmt: skip
        r = campaign_report(conn, s.campaign_id)
        charts = all_charts(
            r, time_series(conn, s.campaign_id), site_report(conn, [s.campaign_id]), "hour"
        )
    assert set(charts) == {"delivery.svg", "funnel.svg", "sites.svg", "links.svg"}
    for name, svg in charts.items():
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg"), name
        assert "<script" not in svg, name
    assert "google.sandbox" in charts["sites.svg"]
    assert "shop.example.com/sale" in charts["links.svg"]
