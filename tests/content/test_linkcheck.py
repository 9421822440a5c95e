"""The preflight link check against a real HTTP server on loopback."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sendwell.content.linkcheck import LinkResult, campaign_urls, check_links

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


class _Site(BaseHTTPRequestHandler):
    """/ok 200; /missing 404; /nohead refuses HEAD (405) but answers GET; /moved → /ok;
    /loop redirects to itself; /escape redirects to a private address."""

    def _answer(self, with_body: bool) -> None:
        if self.path == "/ok" or (self.path == "/nohead" and self.command == "GET"):
            self.send_response(200)
        elif self.path == "/nohead":
            self.send_response(405)
        elif self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/ok")
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
        elif self.path == "/escape":
            self.send_response(302)
            self.send_header("Location", "http://10.1.2.3/admin")
        else:
            self.send_response(404)
        self.send_header("Content-Length", "2" if with_body else "0")
        self.end_headers()
        if with_body:
            self.wfile.write(b"ok")

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _by_path(results: list[LinkResult], base: str) -> dict[str, LinkResult]:
    return {r.url.removeprefix(base): r for r in results}


def test_links_are_judged_by_their_final_answer(site: str) -> None:
    urls = [f"{site}{p}" for p in ("/ok", "/missing", "/nohead", "/moved", "/loop", "/escape")]
    dead = f"http://127.0.0.1:{_closed_port()}/"
    results = check_links([*urls, dead], timeout=5, allowed=LOOPBACK)
    assert [r.url for r in results] == [*urls, dead]  # one result per URL, in order
    got = _by_path(results, site)
    assert (got["/ok"].ok, got["/ok"].status) == (True, 200)
    assert (got["/missing"].ok, got["/missing"].status) == (False, 404)
    assert "404" in got["/missing"].detail
    assert got["/nohead"].ok, "a server refusing HEAD is asked again with GET"
    assert got["/moved"].ok and got["/moved"].status == 200
    assert not got["/loop"].ok
    assert not got["/escape"].ok and "non-public" in got["/escape"].detail
    assert not results[-1].ok and results[-1].status == 0 and "no answer" in results[-1].detail


def test_non_public_addresses_are_not_fetched_unless_allowed(site: str) -> None:
    (result,) = check_links([f"{site}/ok"], timeout=5)
    assert not result.ok and "non-public address (127.0.0.1)" in result.detail
    (allowed,) = check_links([f"{site}/ok"], timeout=5, allowed=LOOPBACK)
    assert allowed.ok


def test_only_http_urls_are_fetched() -> None:
    (result,) = check_links(["file:///etc/passwd"], timeout=5, allowed=LOOPBACK)
    assert not result.ok and "not an http(s) URL" in result.detail


def test_campaign_urls_are_the_literal_links_and_images_once_each() -> None:
    html = (
        '<a href="https://example.com/a?x=1&amp;y=2">A</a> <a href="mailto:hi@example.com">m</a>'
        '<a href="{{ unsubscribe_url }}">u</a> <a href="https://example.com/{{ subscriber.id }}">'
        "p</a> <img src='https://cdn.example.com/logo.png' alt=''> "
        '<a href="https://example.com/a?x=1&y=2">again</a> <a href="#top">top</a>'
    )
    assert campaign_urls(html) == [
        "https://example.com/a?x=1&y=2",
        "https://cdn.example.com/logo.png",
    ]
