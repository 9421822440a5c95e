"""Verification results are shown per subscriber in the API and the admin UI."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.lists import find_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.store.schema import subscribers
from sendwell.verify.bulk import Verifier
from sendwell.verify.lists import ReferenceLists
from sendwell.verify.service import store_verifications
from tests.web.conftest import seed, sign_in, token_for


def _verify(app: App, *emails: str) -> None:
    verifier = Verifier(lists=ReferenceLists.build())
    with app.engine.begin() as conn:
        store_verifications(conn, verifier.verify_offline(list(emails)), now=app.clock.now())


def _id(app: App, email: str) -> int:
    with app.engine.connect() as conn:
        return int(
            conn.execute(select(subscribers.c.id).where(subscribers.c.email == email)).scalar_one()
        )


def test_subscriber_detail_carries_the_latest_verification(client: TestClient, app: App) -> None:
    seed(app, people=1)
    with app.engine.begin() as conn:
        add_subscribers(
            conn,
            [NewSubscriber("ann@gmial.com", "Ann")],
            mailing_list=find_list(conn, "News"),
            now=app.clock.now(),
        )
    _verify(app, "ann@gmial.com")
    auth = token_for(app, "subscribers:read")
    ann = client.get(f"/api/v1/subscribers/{_id(app, 'ann@gmial.com')}", headers=auth).json()
    checked = ann["verification"]
    assert checked["suggestion"] == "ann@gmail.com"
    assert "typo" in ",".join(checked["reasons"])
    assert checked["verdict"] in {"risky", "invalid"}
    never = client.get(f"/api/v1/subscribers/{_id(app, 'p0@example.org')}", headers=auth).json()
    assert never["verification"] is None


def test_the_admin_page_shows_the_verdict(client: TestClient, app: App) -> None:
    seed(app, people=1)
    _verify(app, "p0@example.org")
    sign_in(client, app)
    page = client.get(f"/admin/subscribers/{_id(app, 'p0@example.org')}").text
    assert "Address verification" in page
    assert "Verdict <strong>" in page
