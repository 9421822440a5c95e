"""The production app serves opens and clicks ahead of FastAPI's layers, and everything
else exactly as before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from sendwell.app import App
from sendwell.clock import FrozenClock
from sendwell.config import Settings
from sendwell.web.app import create_app
from sendwell.web.front import TrackingFront
from sendwell.web.middleware import SECURITY_HEADERS
from tests.tracking.helpers import KEY, PUBLIC, urls
from tests.web.test_tracking import BROWSER, AsgiClient, count, sent


class Counting:
    """The inner application, counting the requests that reach it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def served(
    engine: Engine, clock: FrozenClock, tmp_path: Path
) -> Iterator[tuple[AsgiClient, Counting]]:
    values: dict[str, Any] = {"secret_key": KEY.decode()}
    config = Settings().replace(data_dir=tmp_path, public_url=PUBLIC, **values)
    web = create_app(App(settings=config, engine=engine, clock=clock))
    front = web.build_middleware_stack()
    assert isinstance(front, TrackingFront)
    inner = front.app = Counting(front.app)
    web.middleware_stack = front
    with AsgiClient(web) as client:
        yield client, inner


def test_opens_and_clicks_skip_the_application_layers(
    served: tuple[AsgiClient, Counting], engine: Engine, clock: FrozenClock
) -> None:
    client, inner = served
    _, html = sent(engine, clock)
    (pixel,) = urls(html, "/o/")
    click = urls(html, "/c/")[0]
    for r, status in (
        (client.get(pixel, headers=BROWSER), 200),
        (client.head(pixel), 200),
        (client.get(click, headers=BROWSER), 302),
        (client.head(click, headers=BROWSER), 302),
        (client.get(pixel[:-12] + "0" * 8 + ".gif"), 404),  # forged: the handler's own 404
    ):
        assert r.status_code == status, r.text
        for name, value in SECURITY_HEADERS.items():
            assert r.headers[name] == value
    assert inner.paths == []
    assert count(engine, "open") == 1 and count(engine, "click") == 1
    assert count(engine, "click_machine") == 1  # the HEAD


def test_everything_else_goes_through_the_whole_application(
    served: tuple[AsgiClient, Counting], engine: Engine, clock: FrozenClock
) -> None:
    client, inner = served
    _, html = sent(engine, clock)
    (pixel,) = urls(html, "/o/")
    unsub = urls(html, "/u/")[0]
    assert client.options(pixel).status_code == 405
    not_a_pixel = client.get("/o/whatever")
    assert not_a_pixel.status_code == 404
    assert not_a_pixel.json()["error"]["code"] == "not_found"
    assert client.get(unsub, headers=BROWSER).status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}
    assert inner.paths == [pixel.removeprefix(PUBLIC), "/o/whatever", unsub.removeprefix(PUBLIC),
                           "/healthz"]  # fmt: skip
    assert count(engine, "open") == 0
