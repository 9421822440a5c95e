"""The web server over a real socket: uvicorn in a thread, and ``sendwell serve``."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from sendwell.app import App
from sendwell.clock import SystemClock
from sendwell.errors import ConfigError
from sendwell.web.server import ServerThread, freeze_startup_objects
from tests.web.conftest import make_settings, token_for


def test_api_and_admin_over_loopback(sqlite_engine: Engine, tmp_path: Path) -> None:
    app = App(settings=make_settings(tmp_path), engine=sqlite_engine, clock=SystemClock())
    auth = token_for(app, "lists:write")
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as http:
        assert server.url.startswith("http://127.0.0.1:")
        assert http.get("/healthz").json() == {"status": "ok"}
        created = http.post("/api/v1/lists", json={"name": "Loop"}, headers=auth)
        assert created.status_code == 201
        assert http.get("/api/v1/lists", headers=auth).json()["items"][0]["name"] == "Loop"
        login = http.get("/admin/login")
        assert login.status_code == 200
        assert "Sign in" in login.text
        assert http.get("/admin/", follow_redirects=False).status_code == 303
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/healthz", timeout=2)


def test_a_busy_port_is_a_one_line_error(sqlite_engine: Engine, tmp_path: Path) -> None:
    app = App(settings=make_settings(tmp_path), engine=sqlite_engine, clock=SystemClock())
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            ServerThread(app, port=port)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sendwell_serve_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENDWELL_")}
    env["SENDWELL_DATA_DIR"] = str(tmp_path / "data")
    subprocess.run(
        [sys.executable, "-m", "sendwell", "init"], env=env, cwd=tmp_path, check=True,
        capture_output=True,
    )  # fmt: skip
    port = _free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "sendwell", "serve", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:  # fmt: skip
        try:
            # The banner comes before uvicorn accepts, so the health check retries until it
            # answers, the process dies, or 30 s pass.
            assert proc.stdout is not None
            assert "sendwell web on" in proc.stdout.readline()
            deadline = time.monotonic() + 30
            while True:
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except httpx.ConnectError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.05)
            assert r.json() == {"status": "ok"}
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def test_the_demo_server_signs_in_with_the_printed_credentials(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    from sendwell.web.demo import start_demo_web

    # Over plain http, as the demo runs: cookies must not be marked Secure.
    settings = make_settings(tmp_path, public_url="http://localhost:8000")
    app = App(settings=settings, engine=sqlite_engine, clock=SystemClock())
    start_demo_web(app, port=0).server.stop()  # a second start finds the user and resets it
    web = start_demo_web(app, port=0)
    try:
        with httpx.Client(base_url=web.server.url, follow_redirects=True) as http:
            http.get("/admin/login")
            r = http.post(
                "/admin/login",
                data={"email": web.email, "password": web.password,
                      "csrf_token": http.cookies["sendwell_login_csrf"]},
            )  # fmt: skip
            assert r.status_code == 200
            assert str(r.url) == web.admin_url
            assert "Recent campaigns" in r.text
    finally:
        web.server.stop()


def test_start_up_objects_are_frozen_out_of_garbage_collection() -> None:
    before = gc.get_freeze_count()
    try:
        freeze_startup_objects()
        # Everything alive at start-up (here: at least the loaded modules) is frozen.
        assert gc.get_freeze_count() > max(before, len(sys.modules))
    finally:
        gc.unfreeze()
