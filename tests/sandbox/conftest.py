"""Shared helpers for the sandbox tests: fresh loopback addresses and a fake clock."""

from __future__ import annotations

import itertools
import random

import pytest


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


# Each test process draws its own third octet so parallel runs rarely collide.
_octets = itertools.count(random.randint(100, 250))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def subnet() -> str:
    """A fresh '127.0.N' prefix for this test's MX hosts."""
    return f"127.0.{100 + (next(_octets) - 100) % 151}"
