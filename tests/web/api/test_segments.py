"""``/api/v1/segments``: CRUD with the JSON filter language, live counts, members."""

from __future__ import annotations

from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.lists import get_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.service import set_campaign_audience
from tests.web.conftest import seed, token_for


def test_segments_crud_and_live_counts(client: TestClient, app: App) -> None:
    list_id, campaign_id = seed(app, people=3)
    with app.engine.begin() as conn:
        add_subscribers(
            conn, [NewSubscriber("vip@example.net", "V", None, {"plan": "pro"})],
            mailing_list=get_list(conn, list_id), now=app.clock.now(),
        )  # fmt: skip
    auth = token_for(app, "segments:write", "subscribers:read")
    pro = {"attr": "plan", "op": "=", "value": "pro"}
    r = client.post("/api/v1/segments", json={"name": "Pro", "definition": pro}, headers=auth)
    assert r.status_code == 201, r.text
    seg = r.json()
    assert (seg["name"], seg["definition"], seg["matching"]) == ("Pro", pro, 1)

    count = client.post(
        "/api/v1/segments/count", json={"definition": {"list": list_id}}, headers=auth
    )
    assert count.json() == {"matching": 4}
    bad = client.post("/api/v1/segments/count", json={"definition": {"sql": "1"}}, headers=auth)
    assert bad.status_code == 422
    assert "unknown segment filter" in bad.json()["error"]["message"]
    assert client.post(
        "/api/v1/segments", json={"name": "Pro", "definition": pro}, headers=auth
    ).status_code == 409  # fmt: skip

    patched = client.patch(
        f"/api/v1/segments/{seg['id']}",
        json={"name": "Everyone", "definition": {"list": list_id}}, headers=auth,
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["matching"]) == ("Everyone", 4)
    members = client.get(f"/api/v1/segments/{seg['id']}/subscribers?limit=3", headers=auth).json()
    assert [m["email"] for m in members["items"]] == [f"p{i}@example.org" for i in range(3)]
    rest = client.get(
        f"/api/v1/segments/{seg['id']}/subscribers?cursor={members['next_cursor']}", headers=auth
    ).json()
    assert [m["email"] for m in rest["items"]] == ["vip@example.net"]
    listed = client.get("/api/v1/segments", headers=auth).json()
    assert [s["name"] for s in listed["items"]] == ["Everyone"]
    assert listed["items"][0]["matching"] is None  # counts only on request of one segment

    with app.engine.begin() as conn:
        set_campaign_audience(conn, campaign_id, segment_id=seg["id"])
    in_use = client.delete(f"/api/v1/segments/{seg['id']}", headers=auth)
    assert in_use.status_code == 409
    with app.engine.begin() as conn:
        set_campaign_audience(conn, campaign_id, segment_id=None)
    assert client.delete(f"/api/v1/segments/{seg['id']}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/segments/{seg['id']}", headers=auth).status_code == 404
    assert client.delete(f"/api/v1/segments/{seg['id']}", headers=auth).status_code == 404


def test_segment_scopes(client: TestClient, app: App) -> None:
    read = token_for(app, "segments:read")
    assert client.get("/api/v1/segments", headers=read).status_code == 200
    denied = client.post(
        "/api/v1/segments", json={"name": "x", "definition": {"list": 1}}, headers=read
    )
    assert denied.status_code == 403
    assert client.get("/api/v1/segments", headers=token_for(app, "lists:read")).status_code == 403
