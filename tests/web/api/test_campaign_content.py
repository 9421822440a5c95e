"""Campaigns through the API: made from templates or bodies with the CLI's checks, their
audience and sender settings, content edits while a draft, previews and test sends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.segments import create_segment
from sendwell.store.schema import events, outbox
from sendwell.web.app import create_app
from tests.web.conftest import FOOTER, HTML, sandboxed, seed, token_for


def _create(client: TestClient, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    r = client.post("/api/v1/campaigns", json={"from_email": "news@example.com", **fields},
                    headers=auth)  # fmt: skip
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_campaign_from_a_template_with_audience_and_sender(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=3)
    with app.engine.begin() as conn:
        pro = create_segment(conn, "Pro", {"field": "email", "op": "contains", "value": "p1"},
                             now=app.clock.now())  # fmt: skip
        gone = create_segment(conn, "Gone", {"never_opened": True}, now=app.clock.now())
    auth = token_for(app, "campaigns:write", "templates:write")
    installed = client.post("/api/v1/templates/examples/newsletter", headers=auth)
    assert installed.status_code == 201
    c = _create(client, auth, template="newsletter", list_ids=[list_id], segment_id=pro,
                exclude_segment_ids=[gone], reengage=True, tracking=False,
                organization="Shop Ltd", postal_address="2 High St")  # fmt: skip
    assert c["name"] == "newsletter" and c["subject"].startswith("What's new at")
    assert c["content"] == {"format": "markdown", "layout": "house-layout",
                            "template": "newsletter", "template_version": 1}  # fmt: skip
    assert (c["segment_id"], c["exclude_segment_ids"], c["reengage"]) == (pro, [gone], True)
    assert c["tracking"] is False
    assert (c["organization"], c["postal_address"]) == ("Shop Ltd", "2 High St")
    assert 'class="content" style="' in c["html_template"]  # the layout's CSS, inlined
    assert isinstance(c["warnings"], list)
    report = client.get(f"/api/v1/campaigns/{c['id']}/preflight?dns=false", headers=auth).json()
    assert report["audience"]["eligible"] == 0  # p1 is in Pro, but never opened: excluded

    patched = client.patch(f"/api/v1/campaigns/{c['id']}", headers=auth, json={
        "exclude_segment_ids": [], "tracking": True, "organization": "",
        "from_name": "The Shop"})  # fmt: skip
    assert patched.status_code == 200, patched.text
    p = patched.json()
    assert (p["segment_id"], p["exclude_segment_ids"], p["tracking"]) == (pro, [], True)
    assert p["organization"] == "Example Inc."  # back to the sender_organization setting
    assert p["postal_address"] == "2 High St" and p["from_name"] == "The Shop"
    report = client.get(f"/api/v1/campaigns/{c['id']}/preflight?dns=false", headers=auth).json()
    assert report["audience"]["eligible"] == 1
    cleared = client.patch(f"/api/v1/campaigns/{c['id']}", json={"segment_id": None},
                           headers=auth).json()  # fmt: skip
    assert cleared["segment_id"] is None and cleared["reengage"] is True
    missing = client.patch(f"/api/v1/campaigns/{c['id']}", json={"list_ids": [999]},
                           headers=auth)  # fmt: skip
    assert missing.status_code == 404


def test_bodies_are_checked_like_templates(client: TestClient, app: App) -> None:
    list_id, _ = seed(app)
    auth = token_for(app, "campaigns:write", "templates:write")
    layout = "<html><body><h1>{{ sender.organization }}</h1>{{ content }}</body></html>"
    assert client.post("/api/v1/templates", headers=auth, json={
        "name": "frame", "kind": "layout", "body": layout}).status_code == 201  # fmt: skip
    md = _create(client, auth, subject="Hi {{ subscriber.first_name }}", format="markdown",
                 body="# News\n\nHello **there**\n\n" + FOOTER, layout="frame",
                 list_ids=[list_id])  # fmt: skip
    assert md["content"] == {"format": "markdown", "layout": "frame", "template": None,
                             "template_version": None}  # fmt: skip
    assert "<strong>there</strong>" in md["html_template"] and "<h1>" in md["html_template"]
    assert md["warnings"][0]["part"] == "subject" and md["warnings"][0]["line"] == 1

    cases = [
        ({"body": "<p>x</p>" + FOOTER}, "needs a subject"),
        ({"template": "x", "body": HTML, "subject": "S"}, "exactly one of template and body"),
        ({}, "one of template, body or html_template"),
        ({"html_template": HTML, "body": HTML}, "not both"),
        ({"subject": "S", "body": HTML, "layout": "nope"}, "no layout 'nope'"),
        ({"template": "nope"}, "no template 'nope'"),
    ]
    for fields, message in cases:
        r = client.post("/api/v1/campaigns", headers=auth, json={
            "from_email": "news@example.com", "list_ids": [list_id], **fields})  # fmt: skip
        assert r.status_code == 422, (fields, r.text)
        assert message in r.json()["error"]["message"], (fields, r.text)
    bad = client.post("/api/v1/campaigns", headers=auth, json={
        "from_email": "news@example.com", "list_ids": [list_id], "subject": "S",
        "body": "<p>x</p>\n\n{{ subscriber.frist_name }}"})  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["error"]["problems"][0]["line"] == 3
    with app.engine.connect() as conn:  # nothing half-made
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 0


def test_content_is_read_and_replaced_while_a_draft(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=2)
    auth = token_for(app, "campaigns:write", "templates:write")
    c = _create(client, auth, subject="First", html_template=HTML, list_ids=[list_id])
    content = client.get(f"/api/v1/campaigns/{c['id']}/content", headers=auth).json()
    assert content == {"subject": "First", "format": "html", "body": HTML, "text": None,
                       "layout": None, "template": None, "template_version": None}  # fmt: skip
    put = client.put(f"/api/v1/campaigns/{c['id']}/content", headers=auth, json={
        "subject": "Second", "format": "markdown", "body": "Hello\n\n" + FOOTER,
        "text": "Hello\n{{ unsubscribe_url }}", "name": "Renamed"})  # fmt: skip
    assert put.status_code == 200, put.text
    assert (put.json()["subject"], put.json()["name"]) == ("Second", "Renamed")
    content = client.get(f"/api/v1/campaigns/{c['id']}/content", headers=auth).json()
    assert content["format"] == "markdown" and content["text"].startswith("Hello")
    client.post("/api/v1/templates/examples/announcement", headers=auth)
    from_template = client.put(f"/api/v1/campaigns/{c['id']}/content", headers=auth,
                               json={"template": "announcement"}).json()  # fmt: skip
    assert from_template["content"]["template"] == "announcement"
    broken = client.put(f"/api/v1/campaigns/{c['id']}/content", headers=auth,
                        json={"subject": "S", "body": "{% if %}"})  # fmt: skip
    assert broken.status_code == 422 and broken.json()["error"]["problems"][0]["line"] == 1

    assert client.post(f"/api/v1/campaigns/{c['id']}/start", headers=auth).status_code == 200
    late = client.put(f"/api/v1/campaigns/{c['id']}/content", headers=auth,
                      json={"subject": "S", "body": HTML})  # fmt: skip
    assert late.status_code == 409
    assert client.patch(f"/api/v1/campaigns/{c['id']}", json={"name": "x"},
                        headers=auth).status_code == 409  # fmt: skip


def test_preview_is_the_message_a_subscriber_gets(client: TestClient, app: App) -> None:
    _, cid = seed(app, people=2)
    read = token_for(app, "campaigns:read")
    first = client.post(f"/api/v1/campaigns/{cid}/preview", headers=read).json()
    assert first["email"] == "p0@example.org" and "Hello P0" in first["html"]
    assert first["outbox_id"] is None and first["in_audience"] is True
    assert "https://mail.example.com/o/0-" in first["html"]  # the open pixel, as it is sent
    named = client.post(f"/api/v1/campaigns/{cid}/preview", json={"email": "p1@example.org"},
                        headers=read).json()  # fmt: skip
    assert "Hello P1" in named["text"]
    assert client.post(f"/api/v1/campaigns/{cid}/test", json={"to": ["a@b.example"]},
                       headers=read).status_code == 403  # fmt: skip


def test_test_sends_go_out_now_and_count_nowhere(app: App) -> None:
    _, cid = seed(app, people=1)
    with (
        sandboxed(app) as (world, _),
        TestClient(create_app(world), base_url="https://testserver") as client,
    ):
        auth = token_for(world, "campaigns:write")
        r = client.post(f"/api/v1/campaigns/{cid}/test", headers=auth, json={
            "to": ["qa@gmail.sandbox", "unknown-x@gmail.sandbox"]})  # fmt: skip
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["personalized_for"] == "p0@example.org" and body["accepted"] == 1
        assert [(x["rcpt"], x["ok"]) for x in body["results"]] == [
            ("qa@gmail.sandbox", True), ("unknown-x@gmail.sandbox", False)]  # fmt: skip
        assert body["results"][0]["code"] == 250 and body["results"][1]["code"] >= 500
        too_many = client.post(
            f"/api/v1/campaigns/{cid}/test",
            headers=auth,
            json={"to": [f"t{i}@gmail.sandbox" for i in range(21)]},
        )
        assert too_many.status_code == 422  # fmt: skip
        bad = client.post(f"/api/v1/campaigns/{cid}/test", json={"to": ["not an address"]},
                          headers=auth)  # fmt: skip
        assert bad.status_code == 422 and "not an address" in bad.json()["error"]["message"]
    with app.engine.connect() as conn:
        kinds = conn.execute(select(events.c.kind)).scalars().all()
        assert kinds == ["test", "test"]
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 0
