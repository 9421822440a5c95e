"""Reports over HTTP: JSON (the CLI contract), CSV, SVG charts, reputation."""

from __future__ import annotations

import csv
import io
import json

from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.reports.export import reputation_json
from sendwell.reports.full import full_report
from sendwell.reports.reputation import reputation
from tests.reports.helpers import known_campaign
from tests.web.conftest import token_for


def test_campaign_report_in_every_format(client: TestClient, app: App) -> None:
    s = known_campaign(app.engine, app.clock.now())
    auth = token_for(app, "reports:read")
    r = client.get(f"/api/v1/campaigns/{s.campaign_id}/report", headers=auth)
    assert r.status_code == 200, r.text
    with app.engine.connect() as conn:
        expected = json.loads(json.dumps(full_report(conn, s.campaign_id).as_json()))
    body = r.json()
    # Exactly `sendwell report ID --json` (datetimes compared as instants).
    assert {k: v for k, v in body.items() if k != "campaign"} == {
        k: v for k, v in expected.items() if k != "campaign"
    }
    assert body["delivery"]["delivered"] == 8 and body["clicks"]["unique"] == 2
    days = client.get(f"/api/v1/campaigns/{s.campaign_id}/report?step=day", headers=auth).json()
    assert len(days["series"]) <= len(body["series"])
    assert client.get(
        f"/api/v1/campaigns/{s.campaign_id}/report?step=week", headers=auth
    ).status_code == 422  # fmt: skip

    c = client.get(f"/api/v1/campaigns/{s.campaign_id}/report.csv", headers=auth)
    assert c.headers["content-type"].startswith("text/csv")
    assert f'filename="campaign-{s.campaign_id}.csv"' in c.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert {"section": "delivery", "key": "", "metric": "bounced_hard", "value": "1"} in rows

    titles = {"delivery": "Delivery per hour", "funnel": "Engagement",
              "sites": "Deliverability per site", "links": "Clicks per link"}  # fmt: skip
    for name, title in titles.items():
        svg = client.get(f"/api/v1/campaigns/{s.campaign_id}/charts/{name}.svg", headers=auth)
        assert svg.status_code == 200, name
        assert svg.headers["content-type"] == "image/svg+xml"
        assert "default-src 'none'" in svg.headers["content-security-policy"]
        assert title in svg.text and "<script" not in svg.text
    assert client.get(
        f"/api/v1/campaigns/{s.campaign_id}/charts/pie.svg", headers=auth
    ).status_code == 422  # fmt: skip
    assert client.get("/api/v1/campaigns/4242/report", headers=auth).status_code == 404
    assert client.get(
        f"/api/v1/campaigns/{s.campaign_id}/report", headers=token_for(app, "campaigns:read")
    ).status_code == 403  # fmt: skip


def test_reputation(client: TestClient, app: App) -> None:
    auth = token_for(app, "reports:read")
    empty = client.get("/api/v1/reputation", headers=auth).json()
    assert empty["campaigns"] == [] and empty["total"]["attempted"] == 0
    s = known_campaign(app.engine, app.clock.now())
    body = client.get("/api/v1/reputation?limit=5", headers=auth).json()
    with app.engine.connect() as conn:
        assert body == reputation_json(reputation(conn, limit=5))
    assert body["campaigns"][0]["campaign"] == s.campaign_id
    assert body["campaigns"][0]["complaint_verdict"] == "over"
    assert client.get("/api/v1/reputation?limit=0", headers=auth).status_code == 422
