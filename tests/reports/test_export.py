"""JSON and CSV exports."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import Engine

from sendwell.clock import FrozenClock
from sendwell.reports.campaign import campaign_report
from sendwell.reports.export import report_json, write_csv
from sendwell.reports.series import time_series
from sendwell.reports.sites import site_report
from tests.reports.helpers import known_campaign


def test_json_and_csv(engine: Engine, clock: FrozenClock) -> None:
    s = known_campaign(engine, clock.now())
    with engine.connect() as conn:
        data = report_json(campaign_report(conn, s.campaign_id), site_report(conn, [s.campaign_id]),
                           time_series(conn, s.campaign_id))  # fmt: skip
    data = json.loads(json.dumps(data))
    assert data["delivery"]["delivered"] == 8 and data["opens"]["machine_unique"] == 1
    assert data["links"][0]["total"] == 2 and data["sites"][0]["site"] == "google.sandbox"
    buf = io.StringIO()
    write_csv(data, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert {"section": "delivery", "key": "", "metric": "bounced_hard", "value": "1"} in rows
    assert {"section": "link", "key": "0", "metric": "total", "value": "2"} in rows
    assert any(r["section"] == "series" and r["metric"] == "delivered" for r in rows)
