"""Every admin and public page shows user data as text: XSS payloads stored in every
field people can fill (subscriber names and attributes, list, segment, campaign, import
file and column names, consent wording, suppression notes, template and layout names,
subjects, descriptions and bodies) or put in a URL or a form post are escaped. Template
HTML is markup in one place only, the preview frame, which is sandboxed.

Parametrized over payloads (one world per payload, built once) and pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.segments import create_segment
from sendwell.audience.subscribers import add_subscribers
from sendwell.audience.suppressions import suppress
from sendwell.campaigns.service import create_campaign
from sendwell.clock import SystemClock
from sendwell.content.library import TemplateDraft, add_template
from sendwell.domains.store import add_domain
from sendwell.store.engine import create_db_engine
from sendwell.store.migrate import upgrade
from sendwell.web.app import create_app
from tests.web.conftest import FOOTER, make_settings, runner_of, sign_in

PAYLOADS = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
]
# What must never appear unescaped in a page, whatever the payload.
MARKERS = ("<script>alert", "<img src=x", "<svg onload")


@dataclass
class World:
    client: TestClient
    paths: dict[str, str]  # page name -> URL, or POSTED + the answer of a post
    template_id: int


POSTED = "posted:"  # pages that are the answer to a form post, kept as they were served


def _post_page(client: TestClient, path: str, data: dict[str, str]) -> str:
    r = client.post(path, data=data, headers={"Accept": "text/html"})
    assert r.status_code < 500, (path, r.status_code, r.text[-500:])
    return POSTED + r.headers["content-type"] + "\n" + r.text


def _build(payload: str, root: Path) -> Iterator[World]:
    engine = create_db_engine(f"sqlite:///{root / 'sendwell.db'}")
    upgrade(engine)
    app = App(settings=make_settings(root), engine=engine, clock=SystemClock())
    now = app.clock.now()
    with app.engine.begin() as conn:
        ml = create_list(conn, payload, now=now, description=payload)
        add_subscribers(
            conn, [NewSubscriber("xss@example.org", payload, payload, {payload: payload,
                                                                       "plan": payload})],
            mailing_list=ml, now=now,
        )  # fmt: skip
        seg = create_segment(conn, payload, {"attr": "plan", "value": payload}, now=now)
        add_domain(conn, "example.com", selector="s1", ed25519=False,
                   secret_key=app.secret_key(), now=now)  # fmt: skip
        c = create_campaign(
            conn, name=payload, subject=payload, from_email="news@example.com",
            from_name=payload, html_template=f"<p>{json.dumps(payload)[1:-1]}</p>" + FOOTER,
            text_template=None, list_ids=[ml.id], now=now,
        )  # fmt: skip
        suppress(conn, "gone@example.org", reason="manual", now=now, detail=payload)
        # Library templates whose name, subject, description and body carry the payload.
        layout = add_template(conn, TemplateDraft(
            name=f"L {payload}", kind="layout", description=payload,
            body=f"<div>{payload}{{{{ content }}}}</div>"), now=now).template  # fmt: skip
        template = add_template(conn, TemplateDraft(
            name=payload, subject=payload, description=payload, layout=layout.name,
            body=f"<p>{payload}</p>" + FOOTER), now=now).template  # fmt: skip
    with TestClient(create_app(app), base_url="https://testserver") as client:
        csrf = sign_in(client, app)
        client.post(f"/admin/campaigns/{c.id}/start", data={"csrf_token": csrf})
        # An import whose file name, column name, values and consent wording are payloads.
        body = f'email,"{payload.replace(chr(34), chr(34) * 2)}"\nimp@example.org,{payload!r}\n'
        uploaded = client.post(
            "/admin/imports", files={"file": (f"{payload}.csv", body.encode(), "text/csv")},
            data={"list_id": str(ml.id), "csrf_token": csrf}, follow_redirects=False,
        )  # fmt: skip
        started = int(uploaded.headers["location"].split("/")[3])
        client.post(f"/admin/imports/{started}/start", data={
            "csrf_token": csrf, "map": ["email", "attribute"], "basis": "consent",
            "wording": payload, "wording_version": payload[:50],
        })  # fmt: skip
        runner_of(client).wait(started)
        pending = client.post(
            "/admin/imports", files={"file": (f"{payload}.csv", body.encode(), "text/csv")},
            data={"list_id": str(ml.id), "csrf_token": csrf}, follow_redirects=False,
        ).headers["location"]  # fmt: skip
        search = client.get("/admin/subscribers?q=xss").text
        sid = search.split("/admin/subscribers/")[1].split('"')[0]
        q = quote(payload, safe="")
        paths = {
            "dashboard": "/admin/", "lists": "/admin/lists", "subscribers": "/admin/subscribers",
            "search": f"/admin/subscribers?q={q}", "subscriber": f"/admin/subscribers/{sid}",
            "imports": "/admin/imports", "import": f"/admin/imports/{started}",
            "mapping": pending, "segments": "/admin/segments", "segment": f"/admin/segments/{seg}",
            "segment-new": "/admin/segments/new", "verify-one": f"/admin/verification?address={q}",
            "verification": "/admin/verification", "suppressions": "/admin/suppressions",
            "suppression-search": f"/admin/suppressions?email={q}",
            "campaigns": "/admin/campaigns", "campaign": f"/admin/campaigns/{c.id}",
            "preflight": f"/admin/campaigns/{c.id}/preflight",
            "new-campaign": "/admin/campaigns/new",
            "report": f"/admin/campaigns/{c.id}/report", "domains": "/admin/domains",
            "domain-error": f"/admin/domains/{q}", "settings": "/admin/settings",
            "users": "/admin/users", "subscribe": f"/subscribe/{ml.id}",
            "login-next": f"/admin/login?next={q}",
            "templates": "/admin/templates", "template": f"/admin/templates/{template.id}",
            "layout": f"/admin/templates/{layout.id}", "template-new": "/admin/templates/new",
            "setup": f"/admin/campaigns/{c.id}/setup",
            "content": f"/admin/campaigns/{c.id}/content",
            "preview": f"/admin/campaigns/{c.id}/preview?as=xss@example.org",
            "preview-missing": f"/admin/campaigns/{c.id}/preview?as={q}",
            "privacy": "/admin/privacy",
        }  # fmt: skip
        posted = {
            "erase-confirm": ("/admin/privacy/erase", {"email": "xss@example.org"}),
            "test-send": (f"/admin/campaigns/{c.id}/test", {"to": payload}),
            "template-errors": ("/admin/templates", {
                "name": payload, "kind": "template", "format": "html", "subject": payload,
                "layout": "", "text": payload, "preview_as": payload,
                "body": f"{payload}\n{{{{ {json.dumps(payload)} | nope }}}}"}),
        }  # fmt: skip
        for name, (path, data) in posted.items():
            paths[name] = _post_page(client, path, {**data, "csrf_token": csrf})
        yield World(client, paths, template.id)
    engine.dispose()


PAGES = [
    "dashboard", "lists", "subscribers", "search", "subscriber", "imports", "import",
    "mapping", "segments", "segment", "segment-new", "verify-one", "verification",
    "suppressions", "suppression-search", "campaigns", "campaign", "preflight",
    "new-campaign", "report", "domains", "domain-error", "settings", "users", "subscribe",
    "login-next", "templates", "template", "layout", "template-new", "setup", "content",
    "preview", "preview-missing", "privacy", "erase-confirm", "test-send", "template-errors",
]  # fmt: skip


@pytest.fixture(scope="module", params=PAYLOADS, ids=["script", "img", "svg"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    yield from _build(request.param, tmp_path_factory.mktemp("xss"))


@pytest.mark.parametrize("page", PAGES)
def test_payloads_are_escaped(world: World, page: str) -> None:
    path = world.paths[page]
    if path.startswith(POSTED):
        content_type, _, text = path.removeprefix(POSTED).partition("\n")
    else:
        r = world.client.get(path, headers={"Accept": "text/html"})
        assert r.status_code < 500, (path, r.status_code)
        content_type, text = r.headers["content-type"], r.text
    assert content_type.startswith("text/html"), page
    for marker in MARKERS:
        assert marker not in text, (page, marker)


def test_template_html_renders_only_in_the_sandboxed_frame(world: World) -> None:
    """The preview frame is the one place template HTML is markup: a document that may not
    run script, shown in an iframe with the sandbox attribute."""
    frame = world.client.get(f"/admin/templates/{world.template_id}/preview.html")
    assert any(marker in frame.text for marker in MARKERS)  # the author's HTML, as written
    policy = frame.headers["content-security-policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy
    assert "script-src" not in policy  # so default-src 'none' forbids every script
    editor = world.client.get(f"/admin/templates/{world.template_id}").text
    assert f'sandbox src="/admin/templates/{world.template_id}/preview.html"' in editor


def test_the_payload_is_shown_as_text(world: World) -> None:
    """Escaping, not dropping: the subscriber page shows the payload's characters."""
    page = world.client.get(world.paths["subscriber"]).text
    assert "&lt;" in page
    mapping = world.client.get(world.paths["mapping"]).text
    assert "&lt;" in mapping  # the column name
