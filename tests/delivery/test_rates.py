"""Rates and durations as written in the shaping file."""

from __future__ import annotations

import pytest

from sendwell.delivery.rates import Rate, parse_duration, parse_rate


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("90s", 90),
        ("10m", 600),
        ("10min", 600),
        ("2h", 7200),
        ("1d", 86400),
        ("hour", 3600),
        ("1.5h", 5400),
        (" 5 minutes ", 300),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("100/h", Rate(100, 3600)),
        ("400/10min", Rate(400, 600)),
        ("1/min", Rate(1, 60)),
        ("10,000/day", Rate(10000, 86400)),
        ("5/s", Rate(5, 1)),
    ],
)
def test_rates(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


def test_rate_arithmetic() -> None:
    assert parse_rate("100/h").interval == 36.0
    assert parse_rate("400/10min").per_second == pytest.approx(400 / 600)


@pytest.mark.parametrize("text", ["fast", "100", "100/", "x/h", "100/fortnight", "0/h", "-1/h"])
def test_bad_rates_say_why(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_rate(text)
    assert text in str(info.value)
