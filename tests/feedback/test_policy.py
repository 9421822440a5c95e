"""The pure policies: soft-bounce window and breaker thresholds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sendwell.feedback.policy import (
    CampaignRates,
    FeedbackPolicy,
    breaker_trip,
    soft_window_exceeded,
)


def test_window_not_lifetime() -> None:
    policy = FeedbackPolicy(soft_bounce_limit=3, soft_bounce_window=5)
    assert soft_window_exceeded([True, True, True], policy)
    assert not soft_window_exceeded([True, True, False, False, False, True, True], policy)


@given(st.lists(st.booleans(), max_size=30), st.integers(1, 10), st.integers(1, 10))
def test_window_matches_its_definition(recent: list[bool], k: int, n: int) -> None:
    policy = FeedbackPolicy(soft_bounce_limit=k, soft_bounce_window=n)
    assert soft_window_exceeded(recent, policy) == (sum(recent[:n]) >= k)


def test_breakers() -> None:
    policy = FeedbackPolicy(
        max_hard_bounce_rate=0.05, max_complaint_rate=0.003, breaker_min_sample=100
    )
    assert breaker_trip(CampaignRates(99, 50, 50, 50), policy) is None  # too few to judge
    assert breaker_trip(CampaignRates(1000, 1000, 50, 3), policy) is None  # at, not over
    hard = breaker_trip(CampaignRates(1000, 1000, 51, 0), policy)
    assert hard is not None and hard.rule == "hard_bounce_rate"
    spam = breaker_trip(CampaignRates(1000, 1000, 0, 4), policy)
    assert spam is not None and spam.rule == "complaint_rate"
