"""``/api/v1/settings`` (read-only, secrets starred) and ``/api/v1/users``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from starlette.testclient import TestClient

from sendwell.accounts.users import authenticate
from sendwell.app import App
from sendwell.clock import FrozenClock
from sendwell.config import Secret, load_settings
from sendwell.web.app import create_app
from tests.web.conftest import PASSWORD, token_for


def test_settings_show_values_sources_and_never_secrets(
    sqlite_engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    env = {"SENDWELL_DATA_DIR": str(tmp_path / "data"), "SENDWELL_SECRET_KEY": "s3cret-key-1234",
           "SENDWELL_DATABASE_URL": "postgresql://u:hunter2@db/x"}  # fmt: skip
    (tmp_path / "sendwell.toml").write_text('helo_name = "mail.example.com"\n')
    settings, sources = load_settings(env, cwd=tmp_path)
    app = App(settings=settings, engine=sqlite_engine, clock=clock, setting_sources=sources)
    auth = token_for(app, "settings:read")
    with TestClient(create_app(app), base_url="https://t") as client:
        r = client.get("/api/v1/settings", headers=auth)
        assert (
            client.get("/api/v1/settings", headers=token_for(app, "lists:read")).status_code == 403
        )
    assert r.status_code == 200
    assert "s3cret" not in r.text and "hunter2" not in r.text
    rows = {x["name"]: x for x in r.json()}
    assert rows["secret_key"] == {
        "name": "secret_key", "value": "**********", "source": "env", "type": "secret",
        "secret": True, "env": "SENDWELL_SECRET_KEY", "help": rows["secret_key"]["help"],
    }  # fmt: skip
    assert rows["database_url"]["value"] == str(Secret("x"))
    assert (rows["helo_name"]["value"], rows["helo_name"]["source"]) == ("mail.example.com", "file")
    assert rows["smtp_port"]["source"] == "default"


def test_users_add_list_reset_remove(client: TestClient, app: App) -> None:
    auth = token_for(app, "users:write")
    r = client.post("/api/v1/users", json={"email": "Ann@Example.com", "password": PASSWORD},
                    headers=auth)  # fmt: skip
    assert r.status_code == 201, r.text
    ann = r.json()
    assert ann["email"] == "ann@example.com" and ann["last_login_at"] is None
    assert "password" not in r.text.lower()
    short = client.post("/api/v1/users", json={"email": "b@example.com", "password": "short"},
                        headers=auth)  # fmt: skip
    assert short.status_code == 422
    dup = client.post("/api/v1/users", json={"email": "ann@example.com", "password": PASSWORD},
                      headers=auth)  # fmt: skip
    assert dup.status_code == 409
    bob = client.post("/api/v1/users", json={"email": "bob@example.com", "password": PASSWORD},
                      headers=auth).json()  # fmt: skip
    listed = client.get("/api/v1/users?limit=1", headers=auth).json()
    assert [u["email"] for u in listed["items"]] == ["ann@example.com"]
    assert listed["next_cursor"]

    reset = client.post(f"/api/v1/users/{bob['id']}/password",
                        json={"password": "another long one"}, headers=auth)  # fmt: skip
    assert reset.status_code == 200
    with app.engine.begin() as conn:
        assert authenticate(conn, "bob@example.com", "another long one", now=app.clock.now())
    assert client.delete(f"/api/v1/users/{bob['id']}", headers=auth).status_code == 204
    last = client.delete(f"/api/v1/users/{ann['id']}", headers=auth)
    assert last.status_code == 409
    assert "only user" in last.json()["error"]["message"]
    assert client.delete(f"/api/v1/users/{bob['id']}", headers=auth).status_code == 404
    read = token_for(app, "users:read")
    assert client.get("/api/v1/users", headers=read).status_code == 200
    assert client.delete(f"/api/v1/users/{ann['id']}", headers=read).status_code == 403
