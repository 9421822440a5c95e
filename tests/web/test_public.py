"""Public subscribe form and double opt-in confirmation."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.addresses import normalize
from sendwell.audience.consent import history
from sendwell.audience.lists import create_list
from sendwell.audience.optin import confirmation_token, set_list_message
from sendwell.audience.suppressions import suppress
from sendwell.clock import FrozenClock
from sendwell.store.schema import subscribers, subscriptions


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """SQLite only: this module tests the web layer; its database work is covered on both
    backends by test_api.py, test_auth.py and the capabilities' own tests."""
    return sqlite_engine


def _list(app: App, optin: str = "single") -> int:
    with app.engine.begin() as conn:
        ml = create_list(conn, "News", now=app.clock.now(), optin=optin)  # type: ignore[arg-type]
        if optin == "double":
            set_list_message(
                conn, ml, "confirmation", subject="Please confirm",
                html_template='<p><a href="{{ confirm_url }}">Confirm</a></p>',
                from_email="news@example.com", now=app.clock.now(),
            )  # fmt: skip
    return ml.id


def _status(app: App, email: str) -> str | None:
    with app.engine.connect() as conn:
        return conn.execute(
            select(subscriptions.c.status)
            .join(subscribers, subscribers.c.id == subscriptions.c.subscriber_id)
            .where(subscribers.c.email == email)
        ).scalar()


def test_the_hosted_form_subscribes_with_consent_evidence(client: TestClient, app: App) -> None:
    list_id = _list(app)
    form = client.get(f"/subscribe/{list_id}")
    assert form.status_code == 200
    assert 'name="website"' in form.text  # the honeypot
    assert '<label for="email">' in form.text
    r = client.post(
        f"/subscribe/{list_id}", data={"email": "Ann@Example.org", "first_name": "Ann"},
        headers={"User-Agent": "test-browser"},
    )  # fmt: skip
    assert r.status_code == 200
    assert "Thank you" in r.text
    assert _status(app, "ann@example.org") == "confirmed"
    with app.engine.connect() as conn:
        entries = history(conn, normalize("ann@example.org"))
    assert [e.action for e in entries] == ["subscribe"]
    assert entries[0].evidence.source == "form"
    assert entries[0].evidence.user_agent == "test-browser"
    assert "News" in (entries[0].evidence.wording or "")


def test_no_account_enumeration(client: TestClient, app: App) -> None:
    list_id = _list(app)
    with app.engine.begin() as conn:
        suppress(conn, "gone@example.org", reason="complaint", now=app.clock.now())
    answers = set()
    for email in ("new@example.org", "new@example.org", "gone@example.org"):
        r = client.post(f"/subscribe/{list_id}", data={"email": email})
        answers.add((r.status_code, r.text))
    assert len(answers) == 1
    assert _status(app, "gone@example.org") is None


def test_honeypot_submissions_change_nothing(client: TestClient, app: App) -> None:
    list_id = _list(app)
    r = client.post(
        f"/subscribe/{list_id}", data={"email": "bot@example.org", "website": "http://spam"}
    )
    assert r.status_code == 200
    assert "Thank you" in r.text
    assert _status(app, "bot@example.org") is None


def test_subscribe_posts_are_limited_per_ip(
    client: TestClient, app: App, clock: FrozenClock
) -> None:
    list_id = _list(app)
    limit = app.settings.web_subscribe_max_per_hour
    codes = [
        client.post(f"/subscribe/{list_id}", data={"email": f"p{i}@example.org"}).status_code
        for i in range(limit + 1)
    ]
    assert codes == [200] * limit + [429]
    clock.advance(3601)
    assert (
        client.post(f"/subscribe/{list_id}", data={"email": "late@example.org"}).status_code == 200
    )


def test_a_bad_address_shows_the_form_again(client: TestClient, app: App) -> None:
    list_id = _list(app)
    r = client.post(f"/subscribe/{list_id}", data={"email": "<b>not-an-address"})
    assert r.status_code == 422
    assert 'role="alert"' in r.text
    assert "<b>not-an-address" not in r.text


def test_double_opt_in_confirmation(client: TestClient, app: App, clock: FrozenClock) -> None:
    list_id = _list(app, "double")
    r = client.post(f"/subscribe/{list_id}", data={"email": "dora@example.org"})
    assert "confirmation link" in r.text
    assert _status(app, "dora@example.org") == "unconfirmed"
    with app.engine.connect() as conn:
        sid = conn.execute(
            select(subscribers.c.id).where(subscribers.c.email == "dora@example.org")
        ).scalar_one()
    token = confirmation_token(app.secret_key(), sid, list_id, clock.now())
    page = client.get(f"/confirm/{token}")
    assert page.status_code == 200
    assert "Subscription confirmed" in page.text
    assert _status(app, "dora@example.org") == "confirmed"
    assert "Already confirmed" in client.get(f"/confirm/{token}").text
    forged = client.get(f"/confirm/{token[:-2]}xx", headers={"Accept": "text/html"})
    assert forged.status_code == 422


def test_the_embed_snippet_posts_to_the_public_url(client: TestClient, app: App) -> None:
    list_id = _list(app)
    snippet = client.get(f"/subscribe/{list_id}/snippet").text
    assert f'action="https://mail.example.com/subscribe/{list_id}"' in snippet
    assert 'name="website"' in snippet
