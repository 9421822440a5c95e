"""``/api/v1/privacy``: export everything about one person, erase them (kept suppressed)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.addresses import normalize
from sendwell.audience.consent import history
from sendwell.store.schema import subscribers, suppressions
from tests.web.conftest import seed, token_for


def test_export_then_erase_one_person(client: TestClient, app: App) -> None:
    seed(app, people=2)
    read = token_for(app, "subscribers:read")
    data = client.post("/api/v1/privacy/export", json={"email": "P0@Example.org"}, headers=read)
    assert data.status_code == 200
    held = data.json()
    assert held["email"] == "p0@example.org" and held["subscriber"]["first_name"] == "P0"
    assert held["subscriptions"][0]["status"] == "confirmed"
    assert [e["action"] for e in held["consent"]] == ["subscribe"]  # the seed's evidence
    nobody = client.post("/api/v1/privacy/export", json={"email": "x@example.org"}, headers=read)
    assert nobody.status_code == 404 and "nothing is held" in nobody.json()["error"]["message"]
    assert client.post("/api/v1/privacy/erase", json={"email": "p0@example.org"},
                       headers=read).status_code == 403  # fmt: skip

    write = token_for(app, "subscribers:write")
    r = client.post("/api/v1/privacy/erase", json={"email": "p0@example.org"}, headers=write)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["subscriber_deleted"] is True and done["consent_entries_deleted"] >= 1
    with app.engine.connect() as conn:
        left = conn.execute(select(subscribers.c.email)).scalars().all()
        kept = conn.execute(select(suppressions.c.reason, suppressions.c.email_hash)).all()
        log = history(conn, normalize("p0@example.org"))
    assert left == ["p1@example.org"]
    assert [(reason, h) for reason, h in kept] == [("erased", done["email_hash"])]
    assert [e.action for e in log] == ["erase"]
    assert log[0].evidence.source_ref.startswith("api token ")
    after = client.post("/api/v1/privacy/export", json={"email": "p0@example.org"},
                        headers=read).json()  # fmt: skip
    assert after["subscriber"] is None and after["suppressions"][0]["reason"] == "erased"
    bad = client.post("/api/v1/privacy/erase", json={"email": "not an address"}, headers=write)
    assert bad.status_code == 422
