"""``/api/v1/templates``: the library over HTTP, checked like the CLI, errors with lines."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from sendwell.app import App
from tests.web.conftest import FOOTER, seed, token_for

BODY = "<p>Hi {{ subscriber.first_name | default('there') }}, the news.</p>\n" + FOOTER


def _new(client: TestClient, auth: dict[str, str], **fields: object) -> dict[str, Any]:
    r = client.post("/api/v1/templates", json={"name": "promo", "subject": "Offer",
                                               "body": BODY, **fields}, headers=auth)  # fmt: skip
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_errors_refuse_the_save_with_each_line(client: TestClient, app: App) -> None:
    auth = token_for(app, "templates:write")
    body = "<p>one</p>\n<p>{{ unsubscribe_link }}</p>\n{% if %}\n"
    r = client.post("/api/v1/templates", json={"name": "bad", "body": body, "subject": "S"},
                    headers=auth)  # fmt: skip
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "template_error"
    assert error["problems"] == [
        {"level": "error", "part": "body", "line": 3, "message": error["problems"][0]["message"]}
    ]
    assert "line 3" in error["message"]
    names = client.post("/api/v1/templates", headers=auth, json={
        "name": "bad", "subject": "Hi {{ subscriber.frist_name }}",
        "body": "<p>x</p>\n\n<p>{{ unsubscribe_link }}</p>"})  # fmt: skip
    problems = names.json()["error"]["problems"]
    assert [(p["part"], p["line"]) for p in problems] == [("subject", 1), ("body", 3)]
    assert "did you mean 'first_name'" in problems[0]["message"]
    assert "did you mean 'unsubscribe_url'" in problems[1]["message"]
    listed = client.get("/api/v1/templates", headers=auth).json()
    assert listed["items"] == []  # nothing stored


def test_crud_with_warnings_versions_and_layouts(client: TestClient, app: App) -> None:
    auth = token_for(app, "templates:write")
    saved = _new(client, auth, body="<p>Hi {{ subscriber.first_name }}</p>\n" + FOOTER)
    assert saved["warnings"][0]["level"] == "warning"
    assert saved["warnings"][0]["line"] == 1 and "fallback" in saved["warnings"][0]["message"]
    t = saved["template"]
    assert (t["name"], t["version"], t["format"], t["kind"]) == ("promo", 1, "html", "template")

    layout = "<html><body><h1>Example</h1>{{ content }}</body></html>"
    lay = client.post("/api/v1/templates", headers=auth, json={
        "name": "frame", "kind": "layout", "body": layout})  # fmt: skip
    assert lay.status_code == 201
    put = client.put(
        f"/api/v1/templates/{t['id']}",
        headers=auth,
        json={
            "name": "promo",
            "subject": "Offer",
            "format": "markdown",
            "layout": "frame",
            "body": "# Spring\n\nHi {{ subscriber.first_name | default('you') }}\n\n" + FOOTER,
        },
    )
    assert put.status_code == 200, put.text  # fmt: skip
    assert put.json()["template"]["version"] == 2 and put.json()["warnings"] == []
    got = client.get(f"/api/v1/templates/{t['id']}", headers=auth).json()
    assert got["layout"] == "frame" and got["body"].startswith("# Spring")

    in_use = client.delete(f"/api/v1/templates/{lay.json()['template']['id']}", headers=auth)
    assert in_use.status_code == 409 and "promo" in in_use.json()["error"]["message"]
    kind = client.put(f"/api/v1/templates/{t['id']}", headers=auth, json={
        "name": "promo", "kind": "layout", "body": layout})  # fmt: skip
    assert kind.status_code == 422 and "kind cannot change" in kind.json()["error"]["message"]
    missing = client.post("/api/v1/templates", headers=auth, json={
        "name": "x", "subject": "S", "body": BODY, "layout": "nope"})  # fmt: skip
    assert missing.status_code == 422 and "no layout named 'nope'" in missing.text
    twice = client.post("/api/v1/templates", headers=auth, json={
        "name": "promo", "subject": "S", "body": BODY})  # fmt: skip
    assert twice.status_code == 409

    layouts = client.get("/api/v1/templates?kind=layout", headers=auth).json()["items"]
    assert [x["name"] for x in layouts] == ["frame"] and "body" not in layouts[0]
    page = client.get("/api/v1/templates?limit=1", headers=auth).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(f"/api/v1/templates?limit=1&cursor={page['next_cursor']}", headers=auth)
    assert rest.json()["items"][0]["name"] == "frame"

    assert client.delete(f"/api/v1/templates/{t['id']}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/templates/{t['id']}", headers=auth).status_code == 404


def test_examples_install_with_their_layout(client: TestClient, app: App) -> None:
    auth = token_for(app, "templates:write")
    shipped = client.get("/api/v1/templates/examples", headers=auth).json()
    assert {"house-layout", "newsletter", "announcement"} <= {e["name"] for e in shipped}
    r = client.post("/api/v1/templates/examples/newsletter", headers=auth)
    assert r.status_code == 201
    added = [s["template"]["name"] for s in r.json()["added"]]
    assert added == ["house-layout", "newsletter"]
    again = client.post("/api/v1/templates/examples/newsletter", headers=auth)
    assert again.status_code == 409
    renamed = client.post("/api/v1/templates/examples/newsletter", json={"as_name": "weekly"},
                          headers=auth)  # fmt: skip
    assert [s["template"]["name"] for s in renamed.json()["added"]] == ["weekly"]
    assert renamed.json()["added"][0]["template"]["layout"] == "house-layout"
    unknown = client.post("/api/v1/templates/examples/nope", headers=auth)
    assert unknown.status_code == 404 and "newsletter" in unknown.json()["error"]["message"]


def test_previews_saved_and_unsaved(client: TestClient, app: App) -> None:
    seed(app, people=1)  # p0@example.org, first name P0
    auth = token_for(app, "templates:write")
    t = _new(client, auth)["template"]
    sample = client.post(f"/api/v1/templates/{t['id']}/preview", headers=auth).json()
    assert sample["subject"] == "Offer"
    assert "Hi Ada," in sample["html"] and "Example Inc., 1 Main St, Springfield" in sample["html"]
    assert "Hi Ada," in sample["text"]
    named = client.post(f"/api/v1/templates/{t['id']}/preview", json={"email": "P0@example.org"},
                        headers=auth).json()  # fmt: skip
    assert "Hi P0," in named["html"]
    nobody = client.post(f"/api/v1/templates/{t['id']}/preview",
                         json={"email": "nobody@example.org"}, headers=auth)  # fmt: skip
    assert nobody.status_code == 404

    draft = {"subject": "Hello {{ subscriber.first_name }}", "format": "markdown",
             "body": "# Title\n\nHi **{{ subscriber.first_name | default('you') }}**\n\n"
                     + FOOTER, "email": "p0@example.org"}  # fmt: skip
    live = client.post("/api/v1/templates/preview", json=draft, headers=auth).json()
    assert live["ok"] is True
    assert live["preview"]["subject"] == "Hello P0"
    assert "<strong>P0</strong>" in live["preview"]["html"] and "<h1>Title</h1>" in live[
        "preview"]["html"]  # fmt: skip
    assert [p["level"] for p in live["problems"]] == ["warning"]  # first_name without fallback
    broken = client.post(
        "/api/v1/templates/preview",
        headers=auth,
        json={**draft, "body": "ok\n\n{{ subscriber.frist_name }}"},
    ).json()
    assert broken["ok"] is False and broken["preview"] is None  # fmt: skip
    assert broken["problems"][0] == {
        "level": "error", "part": "body", "line": 3,
        "message": broken["problems"][0]["message"]}  # fmt: skip
    empty = client.post("/api/v1/templates/preview", json={"body": " "}, headers=auth).json()
    assert empty["ok"] is False and "body is empty" in empty["problems"][0]["message"]
    as_nobody = client.post("/api/v1/templates/preview", headers=auth,
                            json={**draft, "email": "nobody@example.org"}).json()  # fmt: skip
    assert as_nobody["ok"] is False and "nobody@example.org" in as_nobody["problems"][0]["message"]


def test_templates_need_their_scopes(client: TestClient, app: App) -> None:
    read = token_for(app, "templates:read")
    assert client.get("/api/v1/templates", headers=read).status_code == 200
    assert (
        client.post("/api/v1/templates/preview", json={"body": "x"}, headers=read).status_code
        == 200
    )
    r = client.post("/api/v1/templates", json={"name": "n", "body": BODY}, headers=read)
    assert r.status_code == 403 and "templates:write" in r.json()["error"]["message"]
    assert client.post("/api/v1/templates/examples/newsletter", headers=read).status_code == 403
    other = token_for(app, "campaigns:write")
    assert client.get("/api/v1/templates", headers=other).status_code == 403
    assert client.get("/api/v1/templates", headers=token_for(app, "all")).status_code == 200
