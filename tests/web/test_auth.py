"""Sign-in, sessions, CSRF, login rate limiting, redirects and API token scopes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from sendwell.accounts.tokens import create_token, parse_scopes
from sendwell.accounts.users import authenticate, create_user
from sendwell.app import App
from sendwell.clock import FrozenClock
from sendwell.errors import ConflictError, InvalidInput
from sendwell.store.schema_web import api_tokens, users, web_sessions
from sendwell.web.admin import IP_LIMIT_FACTOR, safe_next
from sendwell.web.app import create_app
from tests.web.conftest import (
    ADMIN,
    PASSWORD,
    csrf_from,
    login_csrf,
    make_settings,
    sign_in,
    token_for,
)


def test_passwords_are_argon2_hashes_and_users_unique(app: App) -> None:
    now = app.clock.now()
    with app.engine.begin() as conn:
        create_user(conn, "Ann@Example.com", PASSWORD, now=now)
        stored = conn.execute(select(users.c.email, users.c.password_hash)).one()
        with pytest.raises(ConflictError):
            create_user(conn, "ann@example.com", PASSWORD, now=now)
        with pytest.raises(InvalidInput, match="at least"):
            create_user(conn, "bob@example.com", "short", now=now)
        assert authenticate(conn, "ANN@example.com", PASSWORD, now=now) is not None
        assert authenticate(conn, "ann@example.com", PASSWORD + "x", now=now) is None
        assert authenticate(conn, "nobody@example.com", PASSWORD, now=now) is None
        assert authenticate(conn, "not an address", PASSWORD, now=now) is None
    assert stored.email == "ann@example.com"
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


def test_sign_in_creates_a_hashed_server_side_session(client: TestClient, app: App) -> None:
    sign_in(client, app)
    cookie = client.cookies.get("sendwell_session")
    assert cookie
    with app.engine.connect() as conn:
        hashes = conn.execute(select(web_sessions.c.token_hash)).scalars().all()
    assert len(hashes) == 1
    assert cookie not in hashes[0]
    page = client.get("/admin/")
    assert page.status_code == 200
    assert ADMIN in page.text


def test_signed_out_pages_redirect_to_sign_in_with_next(client: TestClient) -> None:
    r = client.get("/admin/campaigns?x=1", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/login?next=%2Fadmin%2Fcampaigns%3Fx%3D1"


def test_wrong_password_and_unknown_user_get_the_same_answer(client: TestClient, app: App) -> None:
    with app.engine.begin() as conn:
        create_user(conn, ADMIN, PASSWORD, now=app.clock.now())
    token = login_csrf(client)
    answers = []
    for email in (ADMIN, "nobody@example.com"):
        r = client.post(
            "/admin/login", data={"email": email, "password": "wrong-password", "csrf_token": token}
        )
        answers.append((r.status_code, r.text.replace(email, "EMAIL")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401
    assert "Wrong email address or password." in answers[0][1]


def test_sign_in_needs_the_login_form_token(client: TestClient, app: App) -> None:
    with app.engine.begin() as conn:
        create_user(conn, ADMIN, PASSWORD, now=app.clock.now())
    login_csrf(client)
    r = client.post(
        "/admin/login", data={"email": ADMIN, "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 403
    assert "sendwell_session" not in client.cookies


def test_failed_sign_ins_are_rate_limited_per_ip_and_user(
    client: TestClient, app: App, clock: FrozenClock
) -> None:
    with app.engine.begin() as conn:
        create_user(conn, ADMIN, PASSWORD, now=app.clock.now())
    token = login_csrf(client)
    limit = app.settings.web_login_max_failures

    def attempt(password: str) -> int:
        data = {"email": ADMIN, "password": password, "csrf_token": token}
        return client.post("/admin/login", data=data, follow_redirects=False).status_code

    assert [attempt("nope-nope-nope") for _ in range(limit)] == [401] * limit
    r_429 = attempt(PASSWORD)  # even the right password is refused while limited
    assert r_429 == 429
    clock.advance(app.settings.web_login_window_seconds + 1)
    assert attempt(PASSWORD) == 303


def test_guessing_across_addresses_meets_a_per_ip_limit(
    engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    # One failure per address, so only the per-IP limit (10 x 1) can refuse.
    settings = make_settings(tmp_path, web_login_max_failures=1)
    client = TestClient(create_app(App(settings, engine, clock)), base_url="https://testserver")
    token = login_csrf(client)
    per_ip = settings.web_login_max_failures * IP_LIMIT_FACTOR
    codes = [
        client.post(
            "/admin/login",
            data={"email": f"u{i}@example.com", "password": "x", "csrf_token": token},
        ).status_code
        for i in range(per_ip + 1)
    ]
    assert codes == [401] * per_ip + [429]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/lists", "/admin/lists"),
        ("/admin/subscribers?q=a", "/admin/subscribers?q=a"),
        ("//evil.example/admin", "/admin/"),
        ("https://evil.example/admin", "/admin/"),
        ("/\\evil.example", "/admin/"),
        ("/admin\\@evil.example", "/admin/"),
        ("/api/v1/lists", "/admin/"),
        ("/admin/\r\nSet-Cookie:x", "/admin/"),
        ("javascript:alert(1)", "/admin/"),
    ],
)
def test_no_open_redirect_after_sign_in(target: str, expected: str) -> None:
    assert safe_next(target) == expected


def test_sign_in_returns_to_a_local_page_only(client: TestClient, app: App) -> None:
    with app.engine.begin() as conn:
        create_user(conn, ADMIN, PASSWORD, now=app.clock.now())
    token = login_csrf(client)
    r = client.post(
        "/admin/login",
        data={"email": ADMIN, "password": PASSWORD, "csrf_token": token,
              "next": "https://evil.example/"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.headers["location"] == "/admin/"


def test_every_state_change_needs_the_session_csrf_token(client: TestClient, app: App) -> None:
    csrf = sign_in(client, app)
    for path, data in [
        ("/admin/lists", {"name": "X"}),
        ("/admin/campaigns", {"subject": "S"}),
        ("/admin/campaigns/1/start", {}),
        ("/admin/logout", {}),
    ]:
        for token in ("", "wrong"):
            r = client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
            assert r.status_code == 403, path
    r = client.post("/admin/lists", data={"name": "X", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303


def test_sign_out_ends_the_session(client: TestClient, app: App) -> None:
    csrf = sign_in(client, app)
    cookie = client.cookies.get("sendwell_session")
    r = client.post("/admin/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    with app.engine.connect() as conn:
        assert conn.execute(select(web_sessions)).first() is None
    client.cookies.set("sendwell_session", str(cookie))
    assert client.get("/admin/", follow_redirects=False).status_code == 303


def test_sessions_expire(client: TestClient, app: App, clock: FrozenClock) -> None:
    sign_in(client, app)
    clock.advance(app.settings.web_session_hours * 3600 + 1)
    assert client.get("/admin/", follow_redirects=False).status_code == 303


def test_tokens_are_stored_hashed_and_shown_once(app: App) -> None:
    with app.engine.begin() as conn:
        token, secret = create_token(conn, "ci", ["lists:read"], now=app.clock.now())
        stored = conn.execute(select(api_tokens.c.token_hash)).scalar_one()
    assert secret.startswith("sw_")
    assert secret not in stored
    assert token.scopes == {"lists:read"}


def test_scopes_are_validated() -> None:
    assert parse_scopes(["lists:read,campaigns:write"]) == ["lists:read", "campaigns:write"]
    assert parse_scopes(["all"]) == ["all"]
    with pytest.raises(InvalidInput, match="unknown scope"):
        parse_scopes(["lists:admin"])
    with pytest.raises(InvalidInput):
        parse_scopes([])


def test_token_scopes_are_enforced(client: TestClient, app: App) -> None:
    read = token_for(app, "lists:read")
    assert client.get("/api/v1/lists", headers=read).status_code == 200
    r = client.post("/api/v1/lists", json={"name": "N"}, headers=read)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/campaigns", headers=read).status_code == 403
    write = token_for(app, "lists:write")  # write implies read of the same area
    assert client.get("/api/v1/lists", headers=write).status_code == 200
    assert client.post("/api/v1/lists", json={"name": "N"}, headers=write).status_code == 201
    bad = {"Authorization": "Bearer sw_not-a-token"}
    assert client.get("/api/v1/lists", headers=bad).status_code == 401


def test_revoked_tokens_stop_working(client: TestClient, app: App) -> None:
    from sendwell.accounts.tokens import revoke_token

    auth = token_for(app, "lists:read")
    with app.engine.begin() as conn:
        revoke_token(conn, 1, now=app.clock.now())
    assert client.get("/api/v1/lists", headers=auth).status_code == 401


def test_dashboard_after_sign_in_has_the_csrf_token(client: TestClient, app: App) -> None:
    csrf = sign_in(client, app)
    assert csrf == csrf_from(client.get("/admin/lists").text)
    assert len(csrf) > 30
