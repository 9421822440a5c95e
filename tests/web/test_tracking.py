"""Tracking endpoints through the in-process ASGI client, on a minimal app.

The messages are built by the real builder, and the tests follow the URLs in them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from sendwell.app import App
from sendwell.clock import FrozenClock
from sendwell.config import Settings
from sendwell.store.schema import events, subscriptions
from sendwell.web.tracking import router
from tests.tracking.helpers import KEY, PUBLIC, Seeded, message_html, seed, urls

BROWSER = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"}


def make_app(engine: Engine, clock: FrozenClock, tmp_path: Path, **settings: object) -> FastAPI:
    web = FastAPI()
    web.include_router(router)
    values: dict[str, Any] = {"secret_key": KEY.decode(), **settings}
    config = Settings().replace(data_dir=tmp_path, public_url=PUBLIC, **values)
    web.state.sendwell = App(settings=config, engine=engine, clock=clock)
    return web


class AsgiClient:
    """A synchronous face on httpx's in-process ASGI transport, with one event loop for
    the client's life (the app's event buffer runs on it)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=PUBLIC, follow_redirects=False
        )

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.request(method, url, **kw))

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def head(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("HEAD", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def options(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("OPTIONS", url, **kw)

    def __enter__(self) -> AsgiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.run_until_complete(self.http.aclose())
        tracking = getattr(self.app.state, "sendwell_tracking", None)
        if tracking is not None:
            self.loop.run_until_complete(tracking.buffer.close())
        self.loop.close()


@pytest.fixture
def client(engine: Engine, clock: FrozenClock, tmp_path: Path) -> Iterator[AsgiClient]:
    with AsgiClient(make_app(engine, clock, tmp_path)) as c:
        yield c


def count(engine: Engine, *kinds: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(events).where(events.c.kind.in_(kinds))
            ).scalar_one()
        )


def sent(engine: Engine, clock: FrozenClock, **kw: object) -> tuple[Seeded, str]:
    s = seed(engine, clock.now(), **kw)  # type: ignore[arg-type]
    return s, message_html(engine, clock, s.outbox_ids[0])


def test_open_pixel_and_clicks_are_recorded(
    client: AsgiClient, engine: Engine, clock: FrozenClock
) -> None:
    s, html = sent(engine, clock)
    (pixel,) = urls(html, "/o/")
    clicks = urls(html, "/c/")
    assert len(clicks) == 3
    r = client.get(pixel, headers=BROWSER)
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    assert r.content.startswith(b"GIF89a") and "no-store" in r.headers["cache-control"]
    r = client.get(clicks[0], headers=BROWSER)
    assert r.status_code == 302
    assert r.headers["location"] == "https://shop.example.com/sale?from=mail&x=1"
    # A replayed click is counted again (total), still one unique clicker.
    assert client.get(clicks[0], headers=BROWSER).status_code == 302
    assert count(engine, "open") == 1 and count(engine, "click") == 2
    with engine.connect() as conn:
        row = conn.execute(select(events).where(events.c.kind == "click")).first()
    assert row is not None and row.code == 0 and row.outbox_id == s.outbox_ids[0]


def test_machine_activity_is_flagged(
    client: AsgiClient, engine: Engine, clock: FrozenClock
) -> None:
    _, html = sent(engine, clock)
    (pixel,) = urls(html, "/o/")
    clicks = urls(html, "/c/")
    assert client.get(pixel, headers={"user-agent": "Mozilla/5.0"}).status_code == 200
    assert client.head(clicks[1], headers=BROWSER).status_code == 302
    assert client.get(clicks[1], headers={"user-agent": "python-requests/2.31"}).status_code == 302
    assert count(engine, "open_machine") == 1 and count(engine, "click_machine") == 2
    assert count(engine, "open", "click") == 0


@pytest.mark.parametrize(
    "path",
    [
        "/o/1-0000000000aaaaaaaaaa.gif",
        "/o/garbage.gif",
        "/c/1-1-0-0000000000aaaaaaaaaa",
        "/c/" + "9" * 5000,
        "/c/%ff%fe%00",
        "/u/1-0000000000aaaaaaaaaa",
        "/p/%c3%28",
        "/v/1-0000000000aaaaaaaaaa",
    ],
)
def test_forged_and_malformed_tokens_are_404_and_record_nothing(
    client: AsgiClient, engine: Engine, clock: FrozenClock, path: str
) -> None:
    seed(engine, clock.now())
    assert client.get(path, headers=BROWSER).status_code == 404
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code in (404, 405)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 0


def test_altered_click_token_cannot_redirect_elsewhere(
    client: AsgiClient, engine: Engine, clock: FrozenClock
) -> None:
    _, html = sent(engine, clock)
    token = urls(html, "/c/")[0].removeprefix("/c/")
    outbox_id, campaign, link, mac = token.split("-")
    for bad in (f"{outbox_id}-{campaign}-7-{mac}", f"{outbox_id}-{int(campaign) + 1}-{link}-{mac}"):
        assert client.get(f"/c/{bad}").status_code == 404
    assert count(engine, "click", "click_machine") == 0


def test_odd_requests_never_fail(client: AsgiClient, engine: Engine, clock: FrozenClock) -> None:
    _, html = sent(engine, clock)
    (pixel,) = urls(html, "/o/")
    click = urls(html, "/c/")[0]
    assert client.get(click + "?" + "x=" + "a" * 20000, headers=BROWSER).status_code == 302
    assert client.options(click).status_code == 405
    assert client.head(pixel).status_code == 200
    assert client.request("OPTIONS", "/u/whatever").status_code == 405
    assert client.get("/c/").status_code == 404


def test_privacy_mode_leaves_links_untouched(engine: Engine, clock: FrozenClock) -> None:
    _, html = sent(engine, clock, tracking=False)
    assert urls(html, "/o/") == [] and urls(html, "/c/") == []
    assert 'href="https://shop.example.com/sale?from=mail&amp;x=1"' in html


def _status(engine: Engine, list_id: int) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                select(subscriptions.c.status).where(subscriptions.c.list_id == list_id)
            ).scalars()
        )


def test_unsubscribe_page_never_unsubscribes_by_itself(
    client: AsgiClient, engine: Engine, clock: FrozenClock
) -> None:
    s, html = sent(engine, clock, people=1)
    (unsub,) = urls(html, "/u/")
    for _ in range(3):
        page = client.get(unsub, headers=BROWSER)
        assert page.status_code == 200 and "p0.c@gmail.sandbox" in page.text
    assert client.head(unsub).status_code == 405
    assert _status(engine, s.news_id) == {"confirmed"}
    r = client.post(unsub, data={"scope": "campaign"})
    assert r.status_code == 200 and "will not receive" in r.text
    assert _status(engine, s.news_id) == {"unsubscribed"}
    assert _status(engine, s.offers_id) == {"confirmed"}


def test_rfc8058_one_click_post(client: AsgiClient, engine: Engine, clock: FrozenClock) -> None:
    s, html = sent(engine, clock, people=1)
    (unsub,) = urls(html, "/u/")
    fresh = client  # it holds no cookie: nothing ever set one
    assert not fresh.http.cookies
    r = fresh.post(
        unsub,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and "set-cookie" not in r.headers
    assert _status(engine, s.news_id) == {"unsubscribed"}
    assert count(engine, "unsubscribe") == 1
    assert fresh.post(unsub, content=b"List-Unsubscribe=One-Click").status_code == 200
    assert count(engine, "unsubscribe") == 1


def test_unsubscribe_from_everything(
    client: AsgiClient, engine: Engine, clock: FrozenClock
) -> None:
    s, html = sent(engine, clock, people=1)
    (unsub,) = urls(html, "/u/")
    assert client.post(unsub, data={"scope": "all"}).status_code == 200
    assert _status(engine, s.news_id) == _status(engine, s.offers_id) == {"unsubscribed"}


def test_preference_center(client: AsgiClient, engine: Engine, clock: FrozenClock) -> None:
    s, html = sent(engine, clock, people=1)
    (prefs,) = urls(html, "/p/")
    page = client.get(prefs)
    assert page.status_code == 200 and "News C" in page.text and "Offers C" in page.text
    r = client.post(
        prefs,
        content=f"list={s.news_id}".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and "saved" in r.text
    assert _status(engine, s.news_id) == {"confirmed"}
    assert _status(engine, s.offers_id) == {"unsubscribed"}
    assert client.post(prefs, data={"all": "1"}).status_code == 200
    assert _status(engine, s.news_id) == {"unsubscribed"}


def test_view_in_browser(client: AsgiClient, engine: Engine, clock: FrozenClock) -> None:
    _, html = sent(engine, clock, people=1)
    (view,) = urls(html, "/v/")
    r = client.get(view)
    assert r.status_code == 200 and "Hi P0" in r.text and "1 Main St" in r.text
    assert len(urls(r.text, "/c/")) == 3
    assert client.get(view[:-1] + ("0" if view[-1] != "0" else "1")).status_code == 404


def test_rotated_key_keeps_sent_links_working(
    engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    _, html = sent(engine, clock, people=1)
    (pixel,) = urls(html, "/o/")
    (unsub,) = urls(html, "/u/")
    rotated = make_app(
        engine,
        clock,
        tmp_path,
        secret_key="brand-new-key",
        tracking_previous_keys=f"older,{KEY.decode()}",
    )
    with AsgiClient(rotated) as c:
        assert c.get(pixel, headers=BROWSER).status_code == 200
        assert c.get(unsub).status_code == 200
    retired = make_app(engine, clock, tmp_path, secret_key="brand-new-key")
    with AsgiClient(retired) as c:
        assert c.get(pixel, headers=BROWSER).status_code == 404
