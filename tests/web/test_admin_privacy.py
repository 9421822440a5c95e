"""Admin pages for privacy requests: a JSON export, and an erasure only after confirming."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.addresses import normalize
from sendwell.audience.consent import history
from sendwell.store.schema import subscribers, suppressions
from tests.web.conftest import ADMIN, seed, sign_in


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """SQLite only: tests/web/api/test_privacy.py runs the same requests on both backends."""
    return sqlite_engine


def test_export_downloads_everything_held(client: TestClient, app: App) -> None:
    seed(app, people=1)
    csrf = sign_in(client, app)
    page = client.get("/admin/subscribers/1").text
    assert 'action="/admin/privacy/export"' in page and "Erase this person" in page
    r = client.post("/admin/privacy/export", data={"csrf_token": csrf, "email": "P0@example.org"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-disposition"].startswith('attachment; filename="sendwell-export-')
    data = json.loads(r.text)
    assert data["subscriber"]["email"] == "p0@example.org" and data["subscriptions"]
    nobody = client.post("/admin/privacy/export",
                         data={"csrf_token": csrf, "email": "nobody@example.org"})  # fmt: skip
    assert nobody.status_code == 404 and "nothing is held about nobody@example.org" in nobody.text


def test_erasure_asks_for_the_address_again(client: TestClient, app: App) -> None:
    seed(app, people=2)
    csrf = sign_in(client, app)
    ask = client.post("/admin/privacy/erase", data={"csrf_token": csrf, "email": "p0@example.org"})
    assert ask.status_code == 200
    assert (
        "Erase p0@example.org?" in ask.text and "A subscriber record (P0), on 1 list(s)" in ask.text
    )
    wrong = client.post("/admin/privacy/erase", data={
        "csrf_token": csrf, "email": "p0@example.org", "confirm": "p1@example.org"})  # fmt: skip
    assert wrong.status_code == 422 and "nothing was erased" in wrong.text
    with app.engine.connect() as conn:
        assert len(conn.execute(select(subscribers)).all()) == 2
    done = client.post("/admin/privacy/erase", data={
        "csrf_token": csrf, "email": "p0@example.org", "confirm": "P0@Example.org"})  # fmt: skip
    assert done.status_code == 200 and "p0@example.org was erased" in done.text
    with app.engine.connect() as conn:
        assert conn.execute(select(subscribers.c.email)).scalars().all() == ["p1@example.org"]
        assert conn.execute(select(suppressions.c.reason)).scalars().all() == ["erased"]
        log = history(conn, normalize("p0@example.org"))
    assert [e.evidence.source_ref for e in log] == [f"admin {ADMIN}"]
    forged = client.post(
        "/admin/privacy/erase",
        data={"csrf_token": "forged", "email": "p1@example.org", "confirm": "p1@example.org"},
    )
    assert forged.status_code == 403  # fmt: skip
