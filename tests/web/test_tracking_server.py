"""Tracking endpoints over a real HTTP server (uvicorn on loopback) and real sockets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select

from sendwell.clock import FrozenClock
from sendwell.store.schema import events, subscriptions
from tests.tracking.helpers import message_html, seed, urls
from tests.web.test_tracking import BROWSER, make_app


@pytest.fixture
def server(engine: Engine, clock: FrozenClock, tmp_path: Path) -> Iterator[str]:
    """A uvicorn server in a thread; the socket is bound before it starts, so requests
    queue in the backlog until it accepts them — no waiting for start-up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(make_app(engine, clock, tmp_path), log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_over_real_http(server: str, engine: Engine, clock: FrozenClock) -> None:
    s = seed(engine, clock.now(), people=1)
    html = message_html(engine, clock, s.outbox_ids[0])
    (pixel,) = urls(html, "/o/")
    click = urls(html, "/c/")[1]
    (unsub,) = urls(html, "/u/")
    with httpx.Client(base_url=server, follow_redirects=False, timeout=10) as http:
        r = http.get(pixel, headers=BROWSER)
        assert r.status_code == 200 and r.content[:6] == b"GIF89a"
        r = http.get(click, headers=BROWSER)
        assert r.status_code == 302 and r.headers["location"] == "https://blog.example.com/post"
        assert http.head(click, headers=BROWSER).status_code == 302
        assert http.get("/c/1-1-0-00000000000000000000").status_code == 404
        assert http.options(click).status_code == 405
        assert http.get(click + "?q=" + "x" * 6000).status_code == 302
        r = http.post(unsub, content=b"List-Unsubscribe=One-Click",
                      headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert r.status_code == 200 and "set-cookie" not in r.headers
    # A raw request with a non-UTF-8, malformed path.
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"GET /c/\xff\xfe%ff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := raw.recv(65536):
            reply += chunk
    assert reply.split(b" ", 2)[1] in (b"400", b"404")
    with engine.connect() as conn:
        q = select(events.c.kind, func.count()).group_by(events.c.kind)
        kinds = {kind: n for kind, n in conn.execute(q)}
        status = conn.execute(
            select(subscriptions.c.status).where(subscriptions.c.list_id == s.news_id)
        ).scalar()
    # HEAD and the python-httpx agent of the long-query click are machine activity.
    assert kinds == {"open": 1, "click": 1, "click_machine": 2, "unsubscribe": 1}
    assert status == "unsubscribed"
