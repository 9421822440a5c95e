"""Rates and durations as people write them in the shaping file: ``"100/h"``, ``"10m"``.

A rate is *count per period*: ``"400/10min"`` is 400 messages per 600 seconds. Accepted
units: ``s``/``sec``/``second``, ``m``/``min``/``minute``, ``h``/``hr``/``hour``,
``d``/``day`` (plural forms too), optionally preceded by a number (``10min``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}  # fmt: skip
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*([a-z]+)\s*$")


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` events per ``period`` seconds."""

    count: float
    period: float

    @property
    def per_second(self) -> float:
        return self.count / self.period

    @property
    def interval(self) -> float:
        """Seconds between two events at this rate."""
        return self.period / self.count

    def __str__(self) -> str:
        return f"{self.count:g}/{self.period:g}s"


def parse_duration(text: str) -> float:
    """``"10m"`` → 600.0; a bare number is seconds. Raises ValueError with the reason."""
    stripped = str(text).strip().lower()
    try:
        return float(stripped)
    except ValueError:
        pass
    match = _DURATION.match(stripped)
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(f"{text!r} is not a duration like '90s', '10m', '2h' or '1d'")
    number = float(match.group(1)) if match.group(1) else 1.0
    return number * _UNITS[match.group(2)]


def parse_rate(text: str) -> Rate:
    """``"100/h"`` → Rate(100, 3600). Raises ValueError with the reason."""
    count_text, sep, period_text = str(text).replace(",", "").partition("/")
    if not sep:
        raise ValueError(f"{text!r} is not a rate like '100/h' or '400/10min'")
    try:
        count = float(count_text)
    except ValueError:
        raise ValueError(f"{text!r}: {count_text!r} is not a number") from None
    try:
        period = parse_duration(period_text)
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    if count <= 0 or period <= 0:
        raise ValueError(f"{text!r}: count and period must be positive")
    return Rate(count, period)
