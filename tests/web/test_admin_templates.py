"""Admin pages for templates: list, examples, the editor's live check and sandboxed preview."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.content.library import get_template
from tests.web.conftest import FOOTER, seed, sign_in


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """SQLite only: the library's storage runs on both backends in tests/web/api."""
    return sqlite_engine


def _form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, "name": "promo", "kind": "template", "format": "html",
            "subject": "Offer", "layout": "", "text": "", "preview_as": "",
            "body": "<p>Hi {{ subscriber.first_name | default('you') }}</p>\n" + FOOTER,
            **fields}  # fmt: skip


def test_examples_install_from_the_list(client: TestClient, app: App) -> None:
    csrf = sign_in(client, app)
    page = client.get("/admin/templates").text
    assert "No templates yet" in page and 'aria-label="Install the newsletter example"' in page
    r = client.post("/admin/templates/examples/newsletter", data={"csrf_token": csrf},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    editor = client.get(r.headers["location"])
    assert "Template: newsletter" in editor.text
    assert '<option value="house-layout" selected>' in editor.text
    listed = client.get("/admin/templates").text
    assert listed.count("Installed") == 2  # the example and its layout
    again = client.post("/admin/templates/examples/newsletter", data={"csrf_token": csrf},
                        headers={"Accept": "text/html"})  # fmt: skip
    assert again.status_code == 409


def test_a_save_with_errors_keeps_the_typed_form_and_shows_each_line(
    client: TestClient, app: App
) -> None:
    csrf = sign_in(client, app)
    assert "New template" in client.get("/admin/templates/new").text
    bad = client.post(
        "/admin/templates", data=_form(csrf, body="<p>a</p>\r\n{{ unsubscribe_link }}")
    )
    assert bad.status_code == 422
    assert "nothing was saved" in bad.text
    assert 'data-part="body" data-line="2"' in bad.text and "did you mean" in bad.text
    assert "{{ unsubscribe_link }}" in bad.text  # the typed body is still there
    with app.engine.connect() as conn, pytest.raises(Exception, match="no template"):
        get_template(conn, "promo")

    ok = client.post("/admin/templates", data=_form(csrf, subject="Hi {{ subscriber.first_name }}"),
                     follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303
    page = client.get(ok.headers["location"]).text
    assert "Template saved." in page
    assert 'data-part="subject" data-line="1"' in page and "fallback" in page  # the warning
    with app.engine.connect() as conn:
        saved = get_template(conn, "promo")
    assert "\r" not in saved.body  # the browser's CRLF are the author's newlines

    spring = _form(csrf, name="spring", format="markdown", body="# Spring\n\n" + FOOTER)
    changed = client.post(f"/admin/templates/{saved.id}", data=spring, follow_redirects=False)
    assert changed.status_code == 303
    with app.engine.connect() as conn:
        assert get_template(conn, saved.id).version == 2
        assert get_template(conn, saved.id).name == "spring"
    gone = client.post(f"/admin/templates/{saved.id}/delete", data={"csrf_token": csrf},
                       follow_redirects=False)  # fmt: skip
    assert gone.status_code == 303
    assert "spring" not in client.get("/admin/templates").text


def test_the_live_check_answers_with_problems_and_the_rendering(
    client: TestClient, app: App
) -> None:
    seed(app, people=1)  # p0@example.org, first name P0
    csrf = sign_in(client, app)
    broken = client.post(
        "/admin/templates/check", data=_form(csrf, body="ok\n{% if %}", preview_as="p0@example.org")
    ).json()
    assert broken["ok"] is False and broken["subject"] is None  # fmt: skip
    assert [(p["level"], p["part"], p["line"]) for p in broken["problems"]] == [
        ("error", "body", 2)]  # fmt: skip
    good = client.post("/admin/templates/check",
                       data=_form(csrf, subject="For {{ subscriber.first_name }}",
                                  preview_as="p0@example.org")).json()  # fmt: skip
    assert good["ok"] is True
    assert good["subject"] == "For P0" and "Hi P0" in good["text"]
    assert good["email"] == "p0@example.org"
    assert [p["level"] for p in good["problems"]] == ["warning"]
    nobody = client.post("/admin/templates/check", data=_form(csrf, preview_as="x@example.org"))
    assert (
        nobody.json()["ok"] is False and "x@example.org" in nobody.json()["problems"][0]["message"]
    )
    forged = client.post("/admin/templates/check", data=_form("forged"))
    assert forged.status_code == 403


def test_the_preview_frame_is_sandboxed_and_shows_the_html(client: TestClient, app: App) -> None:
    seed(app, people=1)
    csrf = sign_in(client, app)
    body = "<p>Hi {{ subscriber.first_name }}</p><script>parent.steal()</script>" + FOOTER
    r = client.post(
        "/admin/templates/preview", data=_form(csrf, body=body, preview_as="p0@example.org")
    )
    assert r.status_code == 200
    assert "<p>Hi P0</p>" in r.text
    policy = r.headers["content-security-policy"]
    assert policy.startswith("sandbox;") and "script-src" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert r.headers["x-frame-options"] == "SAMEORIGIN"
    assert r.headers["cache-control"] == "no-store"
    errors = client.post("/admin/templates/preview",
                         data=_form(csrf, body="<b>{{ nope }}</b>"))  # fmt: skip
    assert errors.status_code == 422 and "&#x27;nope&#x27; is undefined" in errors.text
    assert errors.headers["content-security-policy"].startswith("sandbox;")
    # The frame only renders (the live check judges): a mistake in a branch this subscriber
    # does not take is the check's finding, and the frame still shows what they would get.
    untaken = _form(csrf, body="{% if false %}{{ nope }}{% endif %}<p>Shown</p>" + FOOTER)
    assert client.post("/admin/templates/check", data=untaken).json()["ok"] is False
    shown = client.post("/admin/templates/preview", data=untaken)
    assert shown.status_code == 200 and "<p>Shown</p>" in shown.text
    # The editor page itself keeps the strict admin policy and frames with sandbox.
    page = client.get("/admin/templates/new")
    assert page.headers["x-frame-options"] == "DENY"
    assert '<iframe name="preview"' in page.text and " sandbox " in page.text
    assert "allow-scripts" not in page.text and "allow-same-origin" not in page.text


def test_the_saved_preview_is_served_for_the_frame(client: TestClient, app: App) -> None:
    csrf = sign_in(client, app)
    r = client.post("/admin/templates", data=_form(csrf), follow_redirects=False)
    tid = r.headers["location"].split("/")[3].split("?")[0]
    frame = client.get(f"/admin/templates/{tid}/preview.html")
    assert frame.status_code == 200 and "Hi Ada" in frame.text  # the sample subscriber
    assert frame.headers["content-security-policy"].startswith("sandbox;")
    assert (
        f'src="/admin/templates/{tid}/preview.html"' in client.get(f"/admin/templates/{tid}").text
    )
