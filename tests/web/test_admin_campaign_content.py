"""The campaign wizard's second step (content with a live preview), the exact-message
preview and test sends from the admin UI."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.campaigns.content import campaign_content, create_campaign_with_content
from sendwell.campaigns.sender import set_campaign_settings
from sendwell.campaigns.service import get_campaign
from sendwell.content.library import content_source, get_template, update_template
from sendwell.content.shipped import install_example
from sendwell.store.schema import events, outbox
from sendwell.web.app import create_app
from tests.web.conftest import FOOTER, sandboxed, seed, sign_in


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """SQLite only: the services behind these pages run on both backends elsewhere."""
    return sqlite_engine


def _content(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, "format": "html", "subject": "News for {{ subscriber.first_name"
            " | default('you') }}", "layout": "", "text": "", "preview_as": "",
            "body": "<p>Hello {{ subscriber.first_name | default('there') }}</p>\n" + FOOTER,
            **fields}  # fmt: skip


def _from_newsletter(app: App, list_id: int) -> int:
    now = app.clock.now()
    with app.engine.begin() as conn:
        install_example(conn, "newsletter", now=now)
        template = get_template(conn, "newsletter")
        return create_campaign_with_content(
            conn, content_source(conn, template), name="", from_email="news@example.com",
            from_name="News", list_ids=[list_id], now=now, origin=template,
        ).campaign.id  # fmt: skip


def test_the_content_is_edited_with_errors_at_their_lines(client: TestClient, app: App) -> None:
    _, cid = seed(app, people=1)
    csrf = sign_in(client, app)
    page = client.get(f"/admin/campaigns/{cid}/content")
    assert page.status_code == 200 and "Content: November news" in page.text
    assert '<li aria-current="step">Content</li>' in page.text
    assert "Hello P0, our news of the month." in page.text  # the text version, as rendered
    bad = client.post(
        f"/admin/campaigns/{cid}/content",
        data=_content(csrf, body="<p>x</p>\n\n{{ subscriber.frist_name }}"),
    )
    assert bad.status_code == 422 and "nothing was saved" in bad.text  # fmt: skip
    assert 'data-part="body" data-line="3"' in bad.text
    assert "{{ subscriber.frist_name }}" in bad.text
    with app.engine.connect() as conn:
        assert get_campaign(conn, cid).subject == "November news"
    ok = client.post(f"/admin/campaigns/{cid}/content", data=_content(csrf, format="markdown",
                     body="# Big news\n\n" + FOOTER), follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303
    assert "Content saved." in client.get(ok.headers["location"]).text
    with app.engine.connect() as conn:
        assert campaign_content(conn, cid).format == "markdown"
        assert "<h1>Big news</h1>" in get_campaign(conn, cid).html_template


def test_a_kept_layout_copy_stays_until_another_is_chosen(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=1)
    cid = _from_newsletter(app, list_id)
    with app.engine.begin() as conn:  # the library's layout changes after the campaign copied it
        layout = get_template(conn, "house-layout")
        changed = replace(layout.draft(), body=layout.body.replace("</body>", "<p>NEW</p></body>"))
        update_template(conn, layout.id, changed, now=app.clock.now())
    csrf = sign_in(client, app)
    with app.engine.connect() as conn:
        content = campaign_content(conn, cid)
    form = _content(csrf, format="markdown", layout="house-layout", body=content.body,
                    text=content.text or "")  # fmt: skip
    saved = client.post(f"/admin/campaigns/{cid}/content", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    with app.engine.connect() as conn:
        assert "NEW" not in get_campaign(conn, cid).html_template
        assert campaign_content(conn, cid).template_name == "newsletter"  # edited, not replaced
    replaced = client.post(f"/admin/campaigns/{cid}/content/template",
                           data={"csrf_token": csrf, "template": "newsletter"},
                           follow_redirects=False)  # fmt: skip
    assert replaced.status_code == 303
    with app.engine.connect() as conn:
        assert "NEW" in get_campaign(conn, cid).html_template  # a fresh copy of both


def test_live_check_and_preview_use_the_campaigns_sender(client: TestClient, app: App) -> None:
    _, cid = seed(app, people=2)
    with app.engine.begin() as conn:
        set_campaign_settings(conn, cid, organization="Shop Ltd")
    csrf = sign_in(client, app)
    checked = client.post(f"/admin/campaigns/{cid}/content/check", data=_content(csrf)).json()
    assert checked["ok"] is True and checked["email"] == "p0@example.org"
    assert checked["subject"] == "News for P0" and "Shop Ltd" in checked["text"]
    as_p1 = client.post(f"/admin/campaigns/{cid}/content/check",
                        data=_content(csrf, preview_as="p1@example.org")).json()  # fmt: skip
    assert as_p1["subject"] == "News for P1"
    broken = client.post(f"/admin/campaigns/{cid}/content/check",
                         data=_content(csrf, layout="missing")).json()  # fmt: skip
    assert broken["ok"] is False and "no layout 'missing'" in broken["problems"][0]["message"]
    frame = client.post(f"/admin/campaigns/{cid}/content/preview", data=_content(csrf))
    assert "<p>Hello P0</p>" in frame.text and "Shop Ltd" in frame.text
    assert frame.headers["content-security-policy"].startswith("sandbox;")
    assert client.post(f"/admin/campaigns/{cid}/content/check",
                       data=_content("stale")).status_code == 403  # fmt: skip


def test_the_preview_page_is_the_exact_message(client: TestClient, app: App) -> None:
    _, cid = seed(app, people=2)
    sign_in(client, app)
    page = client.get(f"/admin/campaigns/{cid}/preview?as=p1@example.org")
    assert page.status_code == 200
    assert (
        "<dd>p1@example.org</dd>" in page.text
        and "placeholder until the campaign starts" in page.text
    )
    assert 'src="/admin/campaigns/1/preview.html?as=p1%40example.org"' in page.text
    frame = client.get(f"/admin/campaigns/{cid}/preview.html?as=p1@example.org")
    assert "Hello P1" in frame.text and "https://mail.example.com/o/0-" in frame.text
    assert frame.headers["x-frame-options"] == "SAMEORIGIN"
    nobody = client.get(f"/admin/campaigns/{cid}/preview?as=nobody@example.org")
    assert nobody.status_code == 422 and "nobody@example.org" in nobody.text


def test_test_sends_from_the_admin(app: App) -> None:
    _, cid = seed(app, people=1)
    with (
        sandboxed(app) as (world, _),
        TestClient(create_app(world), base_url="https://testserver") as client,
    ):
        csrf = sign_in(client, world)
        r = client.post(f"/admin/campaigns/{cid}/test", data={
            "csrf_token": csrf, "to": "qa@gmail.sandbox, unknown-y@gmail.sandbox",
            "as_email": ""})  # fmt: skip
        assert r.status_code == 200, r.text
        assert "1 of 2 accepted, personalized as p0@example.org" in r.text
        assert "refused" in r.text and "accepted" in r.text
        many = " ".join(f"t{i}@gmail.sandbox" for i in range(21))
        too_many = client.post(f"/admin/campaigns/{cid}/test",
                               data={"csrf_token": csrf, "to": many})  # fmt: skip
        assert too_many.status_code == 422 and "at most 20" in too_many.text
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == 2
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 0


def test_a_started_campaigns_content_is_read_only(client: TestClient, app: App) -> None:
    _, cid = seed(app, people=1)
    csrf = sign_in(client, app)
    client.post(f"/admin/campaigns/{cid}/start", data={"csrf_token": csrf})
    page = client.get(f"/admin/campaigns/{cid}/content").text
    assert "its content no longer changes" in page and "Save content" not in page
    r = client.post(f"/admin/campaigns/{cid}/content", data=_content(csrf))
    assert r.status_code == 422 and "content changes only in a draft" in r.text
