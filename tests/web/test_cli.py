"""``sendwell users`` and ``sendwell tokens`` (kept here with the web tests they serve)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import Engine

from sendwell.app import App
from sendwell.clock import SystemClock
from sendwell.config import Settings
from sendwell.store.engine import create_db_engine
from sendwell.web.app import create_app
from tests.cli.conftest import Run, run  # noqa: F401  (the fixture)


def test_users_and_tokens_commands(run: Run, tmp_path: Path) -> None:  # noqa: F811
    assert run("init").returncode == 0
    added = run("users", "add", "Ann@Example.com", "--password-stdin", stdin="long enough pw\n")
    assert added.returncode == 0, added.stderr
    assert "user ann@example.com added" in added.stdout
    dup = run("users", "add", "ann@example.com", "--password-stdin", stdin="long enough pw\n")
    assert dup.returncode == 1
    assert dup.stderr.strip() == "error: a user ann@example.com already exists"
    last = run("users", "remove", "ann@example.com")
    assert last.returncode == 1
    assert "only user" in last.stderr
    assert run("users", "add", "bo@example.com", "--password-stdin", stdin="long enough pw\n")
    removed = run("users", "remove", "ANN@example.com")
    assert removed.returncode == 0, removed.stderr
    assert "user ann@example.com removed" in removed.stdout
    assert run("users", "remove", "ann@example.com").stderr.strip() == (
        "error: no user ann@example.com"
    )

    bad = run("tokens", "create", "--scope", "lists:admin")
    assert bad.returncode == 1
    assert "unknown scope" in bad.stderr
    made = run("tokens", "create", "--scope", "lists:read", "--name", "ci")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("sw_")
    listed = run("tokens", "ls").stdout
    assert "ci" in listed
    assert secret not in listed

    engine: Engine = create_db_engine(f"sqlite:///{tmp_path / 'data' / 'sendwell.db'}")
    try:
        app = App(settings=Settings(data_dir=tmp_path / "data"), engine=engine,
                  clock=SystemClock())  # fmt: skip
        transport = httpx.ASGITransport(app=create_app(app))

        async def fetch(path: str) -> int:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                r = await http.get(path, headers={"Authorization": f"Bearer {secret}"})
                return r.status_code

        assert asyncio.run(fetch("/api/v1/lists")) == 200
        assert asyncio.run(fetch("/api/v1/campaigns")) == 403
        assert run("tokens", "revoke", "1").returncode == 0
        assert asyncio.run(fetch("/api/v1/lists")) == 401
    finally:
        engine.dispose()
