"""Admin pages for segments, verification, suppressions, reports, domains, settings and
users: they render, their forms work, refusals keep the input and say why."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from sendwell.accounts.users import create_user, find_user
from sendwell.app import App
from sendwell.audience.addresses import address_hash
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.segments import create_segment
from sendwell.audience.subscribers import add_subscribers
from sendwell.audience.suppressions import suppress_hash
from sendwell.content.shipped import install_example
from sendwell.domains.store import get_domain
from sendwell.sandbox import DnsRecord
from sendwell.store.schema_web import web_sessions
from sendwell.web.app import create_app
from tests.reports.helpers import known_campaign
from tests.web.conftest import PASSWORD, runner_of, sandboxed, seed, sign_in


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """SQLite only: these tests exercise pages; the services under them run on both
    backends in their own tests and in tests/web/api."""
    return sqlite_engine


def test_segments_editor_with_live_count(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=3)
    csrf = sign_in(client, app)
    new = client.get("/admin/segments/new").text
    assert 'data-count-url="/admin/segments/count.json"' in new
    assert "3</span> active subscribers match" in new  # starts from the first list
    count = client.get("/admin/segments/count.json?definition=" + quote(json.dumps(
        {"field": "email", "op": "contains", "value": "p1"})))  # fmt: skip
    assert count.json() == {"matching": 1}
    bad = client.get("/admin/segments/count.json?definition=" + quote('{"sql": 1}'))
    assert bad.status_code == 422 and "unknown segment filter" in bad.json()["error"]
    broken = client.get("/admin/segments/count.json?definition=" + quote("{"))
    assert broken.status_code == 422 and "not valid JSON" in broken.json()["error"]

    refused = client.post("/admin/segments", data={"csrf_token": csrf, "name": "All",
                                                    "definition": "{oops"})  # fmt: skip
    assert refused.status_code == 422
    assert "not valid JSON" in refused.text and "{oops" in refused.text
    r = client.post("/admin/segments", data={"csrf_token": csrf, "name": "All",
                                              "definition": json.dumps({"list": list_id})},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    edit = client.get(r.headers["location"]).text
    assert "Segment: All" in edit and "p0@example.org" in edit  # first matching people
    listing = client.get("/admin/segments").text
    assert "All" in listing and "<td>3</td>" in listing
    only_p2 = json.dumps({"field": "email", "value": "p2@example.org"})
    saved = client.post(r.headers["location"], data={
        "csrf_token": csrf, "name": "Some", "definition": only_p2}, follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303
    assert "1</span> active subscribers match" in client.get(r.headers["location"]).text
    dup = client.post("/admin/segments", data={"csrf_token": csrf, "name": "Some",
                                                "definition": "{\"list\": 1}"})  # fmt: skip
    assert dup.status_code == 422 and "already exists" in dup.text
    gone = client.post(r.headers["location"] + "/delete", data={"csrf_token": csrf},
                       follow_redirects=False)  # fmt: skip
    assert gone.status_code == 303
    assert "No segments yet" in client.get("/admin/segments").text


def test_verification_pages(app: App) -> None:
    with sandboxed(app) as (a, _), TestClient(create_app(a), base_url="https://t") as client:
        with a.engine.begin() as conn:
            ml = create_list(conn, "News", now=a.clock.now())
            add_subscribers(
                conn, [NewSubscriber(e) for e in ("ann@example-corp.sandbox",
                                                  "zed@nullmx.sandbox")],
                mailing_list=ml, now=a.clock.now(),
            )  # fmt: skip
        csrf = sign_in(client, a)
        one = client.get("/admin/verification?address=zed%40nullmx.sandbox").text
        assert "invalid" in one and "null MX" in one
        r = client.post("/admin/verification/runs", data={"csrf_token": csrf, "list_id": ml.id},
                        follow_redirects=False)  # fmt: skip
        assert r.status_code == 303
        run_id = int(r.headers["location"].rsplit("/", 1)[1])
        runner_of(client).wait(run_id)
        progress = client.get(f"/admin/verification/runs/{run_id}/progress.json").json()
        assert (progress["state"], progress["done"], progress["total"]) == ("finished", 2, 2)
        page = client.get(r.headers["location"]).text
        assert "ann@example-corp.sandbox" in page and "zed@nullmx.sandbox" in page
        invalid = client.get(r.headers["location"] + "?verdict=invalid").text
        assert "zed@nullmx.sandbox" in invalid and "ann@example-corp" not in invalid
        assert f"#{run_id}" in client.get("/admin/verification").text
        done = client.post(f"/admin/verification/runs/{run_id}/cancel", data={"csrf_token": csrf})
        assert done.status_code == 409  # it has already finished


def test_suppressions_search_add_and_lift(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=1)
    csrf = sign_in(client, app)
    r = client.post("/admin/suppressions", data={
        "csrf_token": csrf, "email": "Gone@Example.org", "reason": "complaint",
        "list_id": "", "detail": "called us", "expires": "2030-01-31",
    }, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "gone@example.org is now suppressed" in page
    assert address_hash("gone@example.org")[:16] in page and "called us" in page
    assert "2030-01-31" in page
    other = client.get("/admin/suppressions?email=someone@example.org").text
    assert "someone@example.org is not suppressed" in other
    assert address_hash("gone@example.org")[:16] not in other
    scoped = client.post("/admin/suppressions", data={
        "csrf_token": csrf, "email": "p0@example.org", "list_id": str(list_id)})  # fmt: skip
    assert "p0@example.org is now suppressed" in scoped.text
    assert "News" in client.get(f"/admin/suppressions?list_id={list_id}").text
    bad = client.post("/admin/suppressions", data={"csrf_token": csrf, "email": "nope"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    late = client.post("/admin/suppressions", data={"csrf_token": csrf, "email": "a@b.org",
                                                     "expires": "someday"})  # fmt: skip
    assert late.status_code == 422 and "not an ISO date" in late.text
    lifted = client.post("/admin/suppressions/remove",
                         data={"csrf_token": csrf, "email": "gone@example.org"})  # fmt: skip
    assert "gone@example.org is no longer suppressed" in lifted.text
    with app.engine.begin() as conn:  # an erased person stays suppressed
        suppress_hash(conn, address_hash("erased@example.org"), reason="erased",
                      now=app.clock.now())  # fmt: skip
    kept = client.post("/admin/suppressions/remove",
                       data={"csrf_token": csrf, "email": "erased@example.org"})  # fmt: skip
    assert "had nothing to lift" in kept.text
    assert "erased" in client.get("/admin/suppressions?email=erased@example.org").text


def test_report_page_with_charts(client: TestClient, app: App) -> None:
    s = known_campaign(app.engine, app.clock.now())
    sign_in(client, app)
    page = client.get(f"/admin/campaigns/{s.campaign_id}/report")
    assert page.status_code == 200
    for name in ("delivery", "funnel", "sites", "links"):
        src = f"/admin/campaigns/{s.campaign_id}/charts/{name}.svg?step=hour"
        assert f'src="{src}"' in page.text
        svg = client.get(src)
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert 'alt="Engagement funnel' in page.text
    assert "google.sandbox" in page.text  # the per-provider table
    assert "https://shop.example.com/sale" in page.text  # the link clicks table
    assert "<td>8</td>" in page.text  # delivered
    assert client.get(f"/admin/campaigns/{s.campaign_id}/report?step=day").status_code == 200
    csv_file = client.get(f"/admin/campaigns/{s.campaign_id}/report.csv")
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert "Report" in client.get(f"/admin/campaigns/{s.campaign_id}").text
    dashboard = client.get("/admin/").text
    assert "Reputation" in dashboard and "12.50 % (over)" in dashboard  # 1 complaint of 8


def test_domains_pages(app: App) -> None:
    base = App(settings=app.settings.replace(spf_sources="203.0.113.9"), engine=app.engine,
               clock=app.clock)  # fmt: skip
    with TestClient(create_app(base), base_url="https://t") as client:
        csrf = sign_in(client, base)
        r = client.post("/admin/domains", data={"csrf_token": csrf, "domain": "Example.com"},
                        follow_redirects=False)  # fmt: skip
        assert r.headers["location"] == "/admin/domains/example.com"
        page = client.get(r.headers["location"]).text
        assert "sw1._domainkey.example.com. IN TXT" in page
        assert "PRIVATE" not in page
        dup = client.post("/admin/domains", data={"csrf_token": csrf, "domain": "example.com"})
        assert dup.status_code == 422 and "already exists" in dup.text
        with base.engine.connect() as conn:
            published = base.domain_records(get_domain(conn, "example.com"))
        records = tuple(DnsRecord(r.name, r.rtype, r.value) for r in published)
    with sandboxed(base, records) as (a, _), TestClient(create_app(a), base_url="https://t") as c:
        c.cookies.update(client.cookies)
        checked = c.get("/admin/domains/example.com?check=true").text
        assert "Every check passed." in checked
    with (
        sandboxed(base, records, {"example.com": "servfail"}) as (a, _),
        TestClient(create_app(a), base_url="https://t") as c,
    ):
        c.cookies.update(client.cookies)
        down = c.get("/admin/domains/example.com?check=true").text
        assert "DNS could not be asked" in down


def test_settings_are_shown_not_edited(client: TestClient, app: App) -> None:
    sign_in(client, app)
    page = client.get("/admin/settings").text
    assert "SENDWELL_SECRET_KEY" in page and "**********" in page
    assert "k" * 32 not in page  # the test secret key
    assert "<form" not in page.split("<main", 1)[1]  # nothing to submit but sign-out


def test_users_add_reset_and_remove(client: TestClient, app: App) -> None:
    csrf = sign_in(client, app)
    form = {"csrf_token": csrf, "email": "Bo@Example.com", "password": PASSWORD}
    r = client.post("/admin/users", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert "User added." in client.get(r.headers["location"]).text
    short = client.post("/admin/users", data={"csrf_token": csrf, "email": "c@example.com",
                                               "password": "short"})  # fmt: skip
    assert short.status_code == 422 and "at least 10" in short.text
    with app.engine.connect() as conn:
        me, bo = find_user(conn, "admin@example.com"), find_user(conn, "bo@example.com")
    self_remove = client.post(f"/admin/users/{me.id}/remove", data={"csrf_token": csrf})
    assert self_remove.status_code == 409 and "cannot remove yourself" in self_remove.text
    # Changing my own password keeps me signed in.
    mine = client.post(f"/admin/users/{me.id}/password",
                       data={"csrf_token": csrf, "password": "my new long password"})  # fmt: skip
    assert mine.status_code == 200 and "Password changed" in mine.text
    assert client.get("/admin/users").status_code == 200
    removed = client.post(f"/admin/users/{bo.id}/remove", data={"csrf_token": csrf})
    assert "User removed" in removed.text and "bo@example.com" not in removed.text
    with app.engine.connect() as conn:
        assert conn.execute(select(web_sessions.c.user_id)).scalars().all() == [me.id]


def test_every_state_change_needs_the_csrf_token(client: TestClient, app: App) -> None:
    list_id, campaign_id = seed(app, people=1)
    sign_in(client, app)
    with app.engine.begin() as conn:
        seg = create_segment(conn, "S", {"list": list_id}, now=app.clock.now())
        other = create_user(conn, "other@example.com", PASSWORD, now=app.clock.now())
        template_id = install_example(conn, "announcement", now=app.clock.now())[0].template.id
    posts = [
        "/admin/lists", "/admin/imports", "/admin/imports/1/start", "/admin/imports/1/cancel",
        "/admin/segments", f"/admin/segments/{seg}", f"/admin/segments/{seg}/delete",
        "/admin/verification/runs", "/admin/verification/runs/1/cancel", "/admin/suppressions",
        "/admin/suppressions/remove", "/admin/domains", "/admin/users",
        f"/admin/users/{other.id}/password", f"/admin/users/{other.id}/remove",
        f"/admin/campaigns/{campaign_id}/start", "/admin/campaigns", "/admin/logout",
        "/admin/templates", "/admin/templates/check", "/admin/templates/preview",
        "/admin/templates/examples/newsletter", f"/admin/templates/{template_id}",
        f"/admin/templates/{template_id}/delete", f"/admin/campaigns/{campaign_id}/setup",
        f"/admin/campaigns/{campaign_id}/content", f"/admin/campaigns/{campaign_id}/content/check",
        f"/admin/campaigns/{campaign_id}/content/preview",
        f"/admin/campaigns/{campaign_id}/content/template", f"/admin/campaigns/{campaign_id}/test",
        "/admin/privacy/export", "/admin/privacy/erase",
    ]  # fmt: skip
    for path in posts:
        r = client.post(path, data={"csrf_token": "forged", "list_id": str(list_id)})
        assert r.status_code == 403, path
        assert r.json()["error"]["code"] == "csrf_failed", path
