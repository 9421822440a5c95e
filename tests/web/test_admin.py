"""The admin UI: pages render, forms work with CSRF, user data is always escaped."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.lists import create_list, find_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.service import create_campaign
from tests.web.conftest import HTML, seed, sign_in


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """SQLite only: this module tests the web layer; its database work is covered on both
    backends by test_api.py, test_auth.py and the capabilities' own tests."""
    return sqlite_engine


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_pages_render_for_a_signed_in_user(client: TestClient, app: App) -> None:
    _, cid = seed(app)
    sign_in(client, app)
    for path, text in [
        ("/admin/", "Recent campaigns"),
        ("/admin/lists", "News"),
        ("/admin/subscribers", "p0@example.org"),
        ("/admin/subscribers?q=p1", "p1@example.org"),
        ("/admin/campaigns", "November news"),
        (f"/admin/campaigns/{cid}", "Progress"),
        (f"/admin/campaigns/{cid}/preflight", "No blockers"),
        ("/admin/campaigns/new", "New campaign"),
    ]:
        r = client.get(path)
        assert r.status_code == 200, path
        assert text in r.text, path
    search = client.get("/admin/subscribers?q=p1").text
    assert "p0@example.org" not in search


def test_xss_payloads_in_every_field_are_escaped(client: TestClient, app: App) -> None:
    now = app.clock.now()
    with app.engine.begin() as conn:
        ml = create_list(conn, XSS, now=now, description=XSS)
        add_subscribers(
            conn,
            [NewSubscriber("xss@example.org", XSS, XSS, {XSS: XSS, "plan": XSS})],
            mailing_list=ml,
            now=now,
        )
        c = create_campaign(
            conn, name=XSS, subject=XSS, from_email="news@example.com", from_name=XSS,
            html_template=HTML, text_template=None, list_ids=[ml.id], now=now,
        )  # fmt: skip
    sign_in(client, app)
    subscriber_id = client.get("/admin/subscribers?q=xss").text.split("/admin/subscribers/")[1]
    subscriber_id = subscriber_id.split('"')[0]
    for path in (
        "/admin/", "/admin/lists", "/admin/subscribers", f"/admin/subscribers/{subscriber_id}",
        "/admin/campaigns", f"/admin/campaigns/{c.id}", f"/admin/campaigns/{c.id}/preflight",
        "/admin/campaigns/new", f"/subscribe/{ml.id}",
    ):  # fmt: skip
        page = client.get(path).text
        assert "<script>alert" not in page, path
        assert "<img src=x" not in page, path
    detail = client.get(f"/admin/subscribers/{subscriber_id}").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in detail
    snippet = client.get(f"/subscribe/{ml.id}/snippet")
    assert snippet.headers["content-type"].startswith("text/plain")
    assert "<script>alert" not in snippet.text


def test_create_a_list_and_a_campaign_through_the_forms(client: TestClient, app: App) -> None:
    csrf = sign_in(client, app)
    r = client.post(
        "/admin/lists", data={"name": "Weekly", "description": "d", "optin": "single",
                              "csrf_token": csrf}, follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    with app.engine.begin() as conn:
        ml = find_list(conn, "Weekly")
        add_subscribers(conn, [NewSubscriber("a@example.org")], mailing_list=ml,
                        now=app.clock.now())  # fmt: skip
    form = {"subject": "Hi", "from_email": "news@example.com", "from_name": "N",
            "start": "write", "format": "html", "body": HTML, "list_ids": [str(ml.id)],
            "csrf_token": csrf, "tracking": "true"}  # fmt: skip
    r = client.post("/admin/campaigns", data=form, follow_redirects=False)
    assert r.status_code == 303
    content_url = r.headers["location"]
    assert content_url.endswith("/content")
    assert "Hi" in client.get(content_url).text
    report = client.get(content_url.replace("/content", "/preflight"))
    assert "Preflight" in report.text
    # A template error comes back as the form with the message, the input kept.
    bad = client.post("/admin/campaigns", data={**form, "body": "{% if %}"})
    assert bad.status_code == 422
    assert "{% if %}" in bad.text
    assert 'role="alert"' in bad.text


def test_campaign_buttons_start_pause_resume_cancel(client: TestClient, app: App) -> None:
    _, cid = seed(app, people=2)
    csrf = sign_in(client, app)

    def act(action: str) -> str:
        r = client.post(f"/admin/campaigns/{cid}/{action}", data={"csrf_token": csrf},
                        follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text
        return str(client.get(f"/admin/campaigns/{cid}/progress.json").json()["state"])

    assert act("start") == "running"
    progress = client.get(f"/admin/campaigns/{cid}/progress.json").json()
    assert progress["counts"]["queued"] == 2
    assert progress["by_domain"] == {"example.org": progress["by_domain"]["example.org"]}
    assert progress["by_site"] == progress["by_domain"]  # nothing attempted yet
    assert act("pause") == "paused"
    assert act("resume") == "running"
    assert act("cancel") == "cancelled"
    r = client.post(f"/admin/campaigns/{cid}/start", data={"csrf_token": csrf},
                    headers={"Accept": "text/html"})  # fmt: skip
    assert r.status_code == 409
    assert "cancelled" in r.text
    bogus = client.post(f"/admin/campaigns/{cid}/explode", data={"csrf_token": csrf})
    assert bogus.status_code == 422


def test_a_blocked_start_shows_each_blocker_and_its_fix(client: TestClient, app: App) -> None:
    list_id, _ = seed(app)
    with app.engine.begin() as conn:
        c = create_campaign(
            conn, name="", subject="Fwd: our news", from_email="news@example.com",
            from_name="News", html_template=HTML, text_template=None, list_ids=[list_id],
            now=app.clock.now(),
        )  # fmt: skip
    csrf = sign_in(client, app)
    page = client.get(f"/admin/campaigns/{c.id}/preflight").text
    assert "deceptive-subject" in page and "Start sending" not in page
    assert "Delivery plan" in page
    r = client.post(f"/admin/campaigns/{c.id}/start", data={"csrf_token": csrf},
                    headers={"Accept": "text/html"})  # fmt: skip
    assert r.status_code == 409
    assert "preflight blocked" in r.text
    assert "deceptive-subject" in r.text and "remove the Re:/Fwd: prefix" in r.text


def test_static_assets_are_served_locally(client: TestClient, app: App) -> None:
    _, cid = seed(app)
    sign_in(client, app)
    page = client.get(f"/admin/campaigns/{cid}").text
    assert "http://" not in page.replace("http://testserver", "")
    assert "https://" not in page
    assert client.get("/static/sendwell.css").status_code == 200
    assert client.get("/static/progress.js").status_code == 200
