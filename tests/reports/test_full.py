"""One gathered report renders the same numbers as JSON, CSV and charts."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Engine

from sendwell.clock import FrozenClock
from sendwell.errors import NotFound
from sendwell.reports.campaign import campaign_report
from sendwell.reports.export import report_json
from sendwell.reports.full import CHART_NAMES, full_report
from sendwell.reports.series import time_series
from sendwell.reports.sites import site_report
from tests.reports.helpers import known_campaign


def test_full_report_renders_json_csv_and_charts(engine: Engine, clock: FrozenClock) -> None:
    s = known_campaign(engine, clock.now())
    with engine.connect() as conn:
        full = full_report(conn, s.campaign_id, "day")
        separate = report_json(
            campaign_report(conn, s.campaign_id), site_report(conn, [s.campaign_id]),
            time_series(conn, s.campaign_id, "day"),
        )  # fmt: skip
        with pytest.raises(NotFound):
            full_report(conn, 4242)
    assert full.as_json() == separate
    rows = list(csv.DictReader(io.StringIO(full.as_csv())))
    assert {"section": "delivery", "key": "", "metric": "delivered", "value": "8"} in rows
    charts = full.charts()
    assert tuple(charts) == CHART_NAMES
    for svg in charts.values():
        assert svg.lstrip().startswith("<svg") and "<script" not in svg
    assert "Engagement" in charts["funnel"] and "Clicks per link" in charts["links"]
    with pytest.raises(KeyError):
        full.chart("pie")
