"""Machine-activity heuristics for opens and clicks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sendwell.tracking.classify import Hit, Rules, burst_reasons, classify

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
HUMAN_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130 Safari/537.36"


def hit(
    kind: str = "click",
    *,
    method: str = "GET",
    ua: str = HUMAN_UA,
    ip: str = "203.0.113.9",
    after: float | None = 3600.0,
) -> Hit:
    delivered = T0 - timedelta(seconds=after) if after is not None else None
    return Hit(kind, T0, method, ua, ip, delivered)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("h", "reason"),
    [
        (hit("open"), None),
        (hit("open", ua="Mozilla/5.0"), "apple_mpp"),
        (hit("open", ip="17.58.1.2"), "apple_mpp"),
        (hit("open", ua=GMAIL_PROXY), "image_proxy"),
        (hit("open", ua="YahooMailProxy; https://help.yahoo.com"), "image_proxy"),
        (hit("click"), None),
        (hit("click", method="HEAD"), "head"),
        (hit("click", ua="python-requests/2.31"), "agent"),
        (hit("click", ua=""), "agent"),
        (hit("click", ua="Mozilla/5.0 Barracuda Sentinel"), "agent"),
        (hit("click", ip="40.107.3.4"), "network"),
        (hit("click", after=2.0), "too_soon"),
        (hit("click", after=None), None),
    ],
)
def test_classify(h: Hit, reason: str | None) -> None:
    assert classify(h, Rules()) == reason


def test_bursts_flag_many_links_at_once_but_not_one_link_twice() -> None:
    rules = Rules()
    at = [T0 + timedelta(seconds=s) for s in (0, 0.3, 0.6, 30, 31)]
    assert burst_reasons([(at[0], 0), (at[1], 1), (at[2], 2), (at[3], 0), (at[4], 1)], rules) == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert burst_reasons([(at[0], 0), (at[1], 0), (at[2], 0)], rules) == [False, False, False]
