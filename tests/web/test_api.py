"""The REST API: the CLI's operations over HTTP, with pagination and filters."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.addresses import normalize
from sendwell.audience.consent import history
from sendwell.campaigns.service import campaign_status
from tests.web.conftest import HTML, seed, token_for


def test_lists_create_read_and_page(client: TestClient, app: App) -> None:
    auth = token_for(app, "lists:write")
    for i in range(5):
        r = client.post("/api/v1/lists", json={"name": f"L{i}", "optin": "double"}, headers=auth)
        assert r.status_code == 201
    body = r.json()
    assert body["name"] == "L4"
    assert body["optin"] == "double"
    assert client.get(f"/api/v1/lists/{body['id']}", headers=auth).json()["name"] == "L4"
    first = client.get("/api/v1/lists?limit=2", headers=auth).json()
    assert [x["name"] for x in first["items"]] == ["L0", "L1"]
    assert first["items"][0]["confirmed"] == 0
    names = [x["name"] for x in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/api/v1/lists?limit=2&cursor={cursor}", headers=auth).json()
        names += [x["name"] for x in page["items"]]
        cursor = page["next_cursor"]
    assert names == [f"L{i}" for i in range(5)]
    r = client.get("/api/v1/lists?cursor=abc", headers=auth)
    assert r.status_code == 422
    assert client.get("/api/v1/lists?limit=0", headers=auth).status_code == 422
    assert client.get("/api/v1/lists?limit=501", headers=auth).status_code == 422


def test_subscribers_add_search_filter_and_detail(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=3)
    auth = token_for(app, "subscribers:write")
    r = client.post(
        "/api/v1/subscribers",
        json={"email": " Zed@Example.net ", "list_id": list_id, "first_name": "Zed",
              "attributes": {"plan": "pro", "seats": 3}},
        headers=auth,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["added"] is True
    zed = r.json()["subscriber"]
    assert zed["email"] == "zed@example.net"
    assert zed["attributes"] == {"plan": "pro", "seats": 3}
    again = client.post(
        "/api/v1/subscribers", json={"email": "zed@example.net", "list_id": list_id},
        headers=auth,
    )  # fmt: skip
    assert again.json()["added"] is False

    found = client.get("/api/v1/subscribers?search=zed", headers=auth).json()
    assert [s["email"] for s in found["items"]] == ["zed@example.net"]
    # LIKE wildcards are literal: "%" matches nobody.
    assert client.get("/api/v1/subscribers?search=%25", headers=auth).json()["items"] == []
    members = client.get(f"/api/v1/subscribers?list_id={list_id}&limit=2", headers=auth).json()
    assert len(members["items"]) == 2
    assert members["next_cursor"]
    with app.engine.connect() as conn:
        log = history(conn, normalize("zed@example.net"))
    assert [(e.action, e.evidence.source, e.evidence.lawful_basis) for e in log] == [
        ("subscribe", "api", "consent"),
        ("subscribe", "api", "consent"),
    ]
    assert log[0].evidence.source_ref.startswith("token:")
    detail = client.get(f"/api/v1/subscribers/{zed['id']}", headers=auth).json()
    assert detail["subscriptions"][0]["list_name"] == "News"
    assert detail["subscriptions"][0]["status"] == "confirmed"

    bad = client.post(
        "/api/v1/subscribers", json={"email": "not-an-address", "list_id": list_id},
        headers=auth,
    )  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_input"
    missing = client.post(
        "/api/v1/subscribers", json={"email": "a@example.net", "list_id": 999}, headers=auth
    )
    assert missing.status_code == 404


def test_suppressions_add_and_find_by_address(client: TestClient, app: App) -> None:
    auth = token_for(app, "suppressions:write")
    r = client.post(
        "/api/v1/suppressions", json={"email": "Gone@Example.org", "reason": "complaint"},
        headers=auth,
    )  # fmt: skip
    assert r.status_code == 201
    assert r.json()["added"] is True
    again = client.post("/api/v1/suppressions", json={"email": "gone@example.org"}, headers=auth)
    assert again.json()["added"] is False
    rows = client.get("/api/v1/suppressions?email=gone@example.org", headers=auth).json()
    assert [x["reason"] for x in rows["items"]] == ["complaint"]
    assert rows["items"][0]["email_hash"] == r.json()["email_hash"]
    assert "gone@" not in json.dumps(rows)
    assert client.get("/api/v1/suppressions?reason=manual", headers=auth).json()["items"] == []
    lapsing = client.post(
        "/api/v1/suppressions",
        json={"email": "later@example.org", "expires_at": "2030-01-31T00:00:00"}, headers=auth,
    )  # fmt: skip
    assert lapsing.status_code == 201
    found = client.get("/api/v1/suppressions?email=later@example.org", headers=auth).json()
    assert found["items"][0]["expires_at"].startswith("2030-01-31T00:00:00")
    assert client.delete("/api/v1/suppressions?email=later@example.org", headers=auth).json() == {
        "removed": 1
    }
    assert client.get("/api/v1/suppressions?reason=bogus", headers=auth).status_code == 422
    lifted = client.delete("/api/v1/suppressions?email=GONE@example.org", headers=auth)
    assert lifted.json() == {"removed": 1}
    assert client.get("/api/v1/suppressions", headers=auth).json()["items"] == []


def test_campaign_lifecycle_matches_the_cli_contract(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=3)
    auth = token_for(app, "campaigns:write")
    r = client.post(
        "/api/v1/campaigns",
        json={"subject": "Hello {{ subscriber.first_name }}", "from_email": "news@example.com",
              "from_name": "News", "list_ids": [list_id], "html_template": HTML},
        headers=auth,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["state"] == "draft"
    cid = c["id"]

    report = client.get(f"/api/v1/campaigns/{cid}/preflight", headers=auth).json()
    assert report["campaign"] == cid
    assert report["ok"] is True, report["blockers"]
    assert report["audience"]["eligible"] == 3

    started = client.post(f"/api/v1/campaigns/{cid}/start", headers=auth)
    assert started.status_code == 200
    assert started.json()["counts"]["queued"] == 3
    status = client.get(f"/api/v1/campaigns/{cid}/status", headers=auth).json()
    with app.engine.connect() as conn:
        assert status == campaign_status(conn, cid).as_json()  # `campaigns status --json`
    assert client.post(f"/api/v1/campaigns/{cid}/pause", headers=auth).json()["state"] == "paused"
    conflict = client.post(f"/api/v1/campaigns/{cid}/pause", headers=auth)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"
    assert client.post(f"/api/v1/campaigns/{cid}/resume", headers=auth).json()["state"] == "running"
    progress = client.get(f"/api/v1/campaigns/{cid}/progress", headers=auth).json()
    assert progress["by_domain"]["example.org"]["queued"] == 3
    cancelled = client.post(f"/api/v1/campaigns/{cid}/cancel", headers=auth).json()
    assert cancelled["state"] == "cancelled"
    assert cancelled["counts"]["cancelled"] == 3

    listed = client.get("/api/v1/campaigns?state=cancelled", headers=auth).json()
    assert [x["id"] for x in listed["items"]] == [cid]
    assert client.get("/api/v1/campaigns?state=draft", headers=auth).json()["items"][0]["id"] != cid


def test_campaign_input_errors(client: TestClient, app: App) -> None:
    list_id, _ = seed(app)
    auth = token_for(app, "campaigns:write")
    base = {"subject": "S", "from_email": "news@example.com", "list_ids": [list_id],
            "html_template": HTML}  # fmt: skip
    r = client.post("/api/v1/campaigns", json={**base, "html_template": "{% if %}"}, headers=auth)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "template_error"
    r = client.post("/api/v1/campaigns", json={**base, "pool": "nowhere"}, headers=auth)
    assert r.status_code == 422
    assert "pool" in r.json()["error"]["message"]
    r = client.post("/api/v1/campaigns", json={**base, "list_ids": [4242]}, headers=auth)
    assert r.status_code == 404
    r = client.post("/api/v1/campaigns", json={**base, "list_ids": [2**70]}, headers=auth)
    assert r.status_code == 422
    r = client.get(f"/api/v1/campaigns/{2**70}", headers=auth)
    assert r.status_code == 422


def test_preflight_reports_blockers_and_start_refuses_with_each_fix(
    client: TestClient, app: App
) -> None:
    list_id, _ = seed(app)
    auth = token_for(app, "campaigns:write")
    r = client.post(
        "/api/v1/campaigns",
        json={"subject": "S", "from_email": "news@unsigned.example", "list_ids": [list_id],
              "html_template": "<p>no footer</p>"},
        headers=auth,
    )  # fmt: skip
    cid = r.json()["id"]
    report = client.get(f"/api/v1/campaigns/{cid}/preflight", headers=auth).json()
    assert report["ok"] is False
    codes = {b["code"] for b in report["blockers"]}
    assert {"from-domain-not-authenticated", "no-unsubscribe-link"} <= codes
    start = client.post(f"/api/v1/campaigns/{cid}/start", headers=auth)
    assert start.status_code == 409
    error = start.json()["error"]
    assert error["code"] == "preflight_blocked"
    assert {b["code"] for b in error["blockers"]} == codes
    assert all(b["fix"] and b["message"] for b in error["blockers"])
    assert client.get(f"/api/v1/campaigns/{cid}", headers=auth).json()["state"] == "draft"


def test_preflight_carries_the_delivery_plan(client: TestClient, app: App) -> None:
    _, cid = seed(app, people=3)
    auth = token_for(app, "campaigns:read")
    report = client.get(f"/api/v1/campaigns/{cid}/preflight", headers=auth).json()
    plan = report["delivery_plan"]
    # example.org is not served by the test DNS: its own site, with the default 100/h.
    assert plan["recipients"] == 3 and plan["duration_seconds"] == 108.0
    assert plan["sites"][0]["max_message_rate_per_hour"] == 100


def test_openapi_schema_is_served_and_documents_the_api(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/v1/lists", "/api/v1/subscribers", "/api/v1/suppressions",
                 "/api/v1/campaigns/{campaign_id}/start", "/api/v1/imports",
                 "/api/v1/imports/{import_id}/errors", "/api/v1/segments/count",
                 "/api/v1/verification/check", "/api/v1/verification/runs",
                 "/api/v1/campaigns/{campaign_id}/report", "/api/v1/reputation",
                 "/api/v1/domains/{domain}/check", "/api/v1/settings",
                 "/api/v1/users/{user_id}/password"):  # fmt: skip
        assert path in paths
    assert not any(p.startswith(("/admin", "/webhooks")) for p in paths)
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 404  # no CDN-hosted docs page
