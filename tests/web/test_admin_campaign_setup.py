"""The campaign wizard's first step: a draft from a template or a blank body, with its
audience, tracking, sender identity and pool; its setup changed while a draft."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.segments import create_segment
from sendwell.campaigns.content import campaign_content
from sendwell.campaigns.sender import campaign_sender
from sendwell.campaigns.service import campaign_audience_of, get_campaign
from sendwell.content.shipped import install_example
from tests.web.conftest import seed, sign_in


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """SQLite only: the services behind the wizard run on both backends in tests/web/api."""
    return sqlite_engine


def _form(csrf: str, list_id: int, **fields: object) -> dict[str, object]:
    return {"csrf_token": csrf, "start": "template", "template": "newsletter",
            "from_email": "news@example.com", "from_name": "News", "list_ids": [str(list_id)],
            "tracking": "true", "pool": "default", **fields}  # fmt: skip


def test_a_draft_from_a_template_with_its_audience_and_sender(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=2)
    now = app.clock.now()
    with app.engine.begin() as conn:
        install_example(conn, "newsletter", now=now)
        pro = create_segment(conn, "Pro", {"attr": "plan", "value": "pro"}, now=now)
        quiet = create_segment(conn, "Quiet", {"never_opened": True}, now=now)
    csrf = sign_in(client, app)
    page = client.get("/admin/campaigns/new").text
    assert '<option value="newsletter">newsletter (markdown, in house-layout)</option>' in page
    assert "Leave out subscribers in" in page and '<option value="default" selected>' in page
    r = client.post("/admin/campaigns", follow_redirects=False, data=_form(
        csrf, list_id, segment_id=str(pro), exclude_segment_ids=[str(quiet)], reengage="true",
        tracking="", organization="Shop Ltd", postal_address="2 High St"))  # fmt: skip
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("/content")
    cid = int(r.headers["location"].split("/")[3])
    with app.engine.connect() as conn:
        c = get_campaign(conn, cid)
        audience = campaign_audience_of(conn, cid)
        sender = campaign_sender(conn, cid, app.sender_defaults())
        content = campaign_content(conn, cid)
    assert c.name == "newsletter" and c.tracking is False and c.from_name == "News"
    assert (audience.segment_id, audience.exclude_segment_ids, audience.reengage) == (
        pro, (quiet,), True)  # fmt: skip
    assert (sender.organization, sender.postal_address) == ("Shop Ltd", "2 High St")
    assert (content.template_name, content.format) == ("newsletter", "markdown")

    setup = client.get(f"/admin/campaigns/{cid}/setup").text
    assert 'value="Shop Ltd"' in setup and f'<option value="{pro}" selected>' in setup
    assert 'name="reengage" value="true" checked' in setup
    assert 'name="tracking" value="true" checked' not in setup
    changed = client.post(f"/admin/campaigns/{cid}/setup", follow_redirects=False, data=_form(
        csrf, list_id, segment_id="", tracking="true", organization="", postal_address="2 High St",
        name="Renamed"))  # fmt: skip
    assert changed.status_code == 303
    with app.engine.connect() as conn:
        c = get_campaign(conn, cid)
        audience = campaign_audience_of(conn, cid)
        sender = campaign_sender(conn, cid, app.sender_defaults())
    assert c.tracking is True and c.name == "Renamed"
    assert (audience.segment_id, audience.exclude_segment_ids, audience.reengage) == (
        None,
        (),
        False,
    )
    assert sender.organization == "Example Inc."  # empty: the installation's setting


def test_writing_the_content_starts_from_a_checked_starter(client: TestClient, app: App) -> None:
    list_id, _ = seed(app)
    csrf = sign_in(client, app)
    for fmt in ("html", "markdown", "mjml"):
        data = _form(csrf, list_id, start="write", template="", format=fmt, subject=f"In {fmt}")
        r = client.post("/admin/campaigns", follow_redirects=False, data=data)
        assert r.status_code == 303, (fmt, r.text)
        cid = int(r.headers["location"].split("/")[3])
        with app.engine.connect() as conn:
            assert campaign_content(conn, cid).format == fmt
        report = client.get(f"/admin/campaigns/{cid}/preflight?dns=false").text
        assert "no-unsubscribe-link" not in report and "no-postal-address" not in report


def test_mistakes_come_back_with_the_form_as_typed(client: TestClient, app: App) -> None:
    list_id, _ = seed(app)
    csrf = sign_in(client, app)
    cases = [
        (_form(csrf, list_id, template=""), "choose a template"),
        (_form(csrf, list_id, template="nope"), "no template &#39;nope&#39;"),
        (_form(csrf, list_id, start="write", subject="S", list_ids=[]), "at least one list"),
        (_form(csrf, list_id, start="write", subject=""), "needs a subject"),
        (_form(csrf, list_id, start="write", subject="S", pool="nowhere"), "no sending pool"),
        (_form(csrf, list_id, start="write", subject="S", segment_id="x"), "choose a segment"),
    ]
    for data, message in cases:
        r = client.post("/admin/campaigns", data=data)
        assert r.status_code == 422, message
        assert message in r.text, (message, r.text[-2000:])
        assert 'value="news@example.com"' in r.text  # kept
    bad = client.post("/admin/campaigns", data=_form(
        csrf, list_id, start="write", subject="Hi {{ subscriber.frist_name }}"))  # fmt: skip
    assert bad.status_code == 422 and "did you mean" in bad.text and "subject, line 1" in bad.text


def test_a_started_campaign_keeps_its_setup(client: TestClient, app: App) -> None:
    list_id, cid = seed(app)
    csrf = sign_in(client, app)
    assert client.post(f"/admin/campaigns/{cid}/start", data={"csrf_token": csrf},
                       follow_redirects=False).status_code == 303  # fmt: skip
    page = client.get(f"/admin/campaigns/{cid}/setup").text
    assert "its setup no longer changes" in page and "Save and edit" not in page
    r = client.post(f"/admin/campaigns/{cid}/setup", data=_form(csrf, list_id),
                    headers={"Accept": "text/html"})  # fmt: skip
    assert r.status_code == 409
