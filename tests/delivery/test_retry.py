"""Retry scheduling: backoff growth, jitter, cap, server hints, max age."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from sendwell.delivery.retry import RetryPolicy, backoff_delay, hinted_delay, next_attempt_at

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NO_JITTER = RetryPolicy(jitter=0.0)


def _delay(policy: RetryPolicy, attempts: int, *, now: datetime = T0, reply: str = "") -> float:
    at = next_attempt_at(
        policy=policy,
        attempts=attempts,
        first_attempt_at=T0,
        now=now,
        reply_text=reply,
        rng=random.Random(7),
    )
    assert at is not None
    return (at - now).total_seconds()


def test_backoff_grows_exponentially_without_jitter() -> None:
    assert [_delay(NO_JITTER, n) for n in range(1, 6)] == [60, 120, 240, 480, 960]


def test_backoff_is_capped_at_max_interval() -> None:
    assert _delay(NO_JITTER, 9) == 4 * 3600
    assert _delay(NO_JITTER, 40) == 4 * 3600
    assert _delay(NO_JITTER, 10_000) == 4 * 3600  # no float overflow


def test_jitter_stays_within_bounds_and_varies() -> None:
    policy = RetryPolicy()
    rng = random.Random(1)
    delays = [backoff_delay(policy, 3, rng) for _ in range(2000)]
    assert all(240 * 0.8 <= d <= 240 * 1.2 for d in delays)
    assert max(delays) - min(delays) > 240 * 0.3  # actually spread, not constant


def test_jitter_never_exceeds_the_cap() -> None:
    policy = RetryPolicy()
    rng = random.Random(2)
    delays = [backoff_delay(policy, 20, rng) for _ in range(500)]
    assert all(4 * 3600 * 0.8 <= d <= 4 * 3600 for d in delays)


def test_same_seed_same_schedule() -> None:
    a = [backoff_delay(RetryPolicy(), n, random.Random(5)) for n in range(1, 8)]
    b = [backoff_delay(RetryPolicy(), n, random.Random(5)) for n in range(1, 8)]
    assert a == b


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("try again in 5 minutes", 300),
        ("retry in 30 seconds", 30),
        ("try again later in 2 min", 120),
        ("please try again after 10 mins", 600),
        ("in 1 hour", 3600),
        ("4.7.28 try again in 10 minutes", 600),
        ("Greylisted, please try again in 300 seconds", 300),
        ("4.7.1 Try again in 90s", 90),
        ("Mailbox busy, retry after 2 hours", 7200),
        ("temporarily deferred, try again in 15 min.", 900),
        ("TS03 messages deferred; try again in 1 hr", 3600),
        ("rate limited: wait 45 secs", 45),
        ("Please Try Again In 3 Minutes", 180),
        ("try again in 1.5 minutes", 90),
        ("try again in about 20 minutes", 1200),
        ("451 4.7.1 <a@b>: Recipient address rejected: Greylisted for 5 minutes", None),
        ("4.7.28 Our system has detected an unusual rate of unsolicited mail", None),
        ("try again later", None),
        ("mailbox full, try again in 2 months", None),
        ("", None),
    ],
)
def test_hint_parsing(text: str, seconds: float | None) -> None:
    assert hinted_delay(text) == seconds


def test_hint_is_honoured_never_earlier() -> None:
    for seed in range(50):
        at = next_attempt_at(
            policy=RetryPolicy(),
            attempts=1,
            first_attempt_at=T0,
            now=T0,
            reply_text="4.7.28 try again in 10 minutes",
            rng=random.Random(seed),
        )
        assert at is not None
        delay = (at - T0).total_seconds()
        assert 600 < delay <= 600 * 1.2 + 5


def test_hint_overrides_backoff_even_when_shorter() -> None:
    assert _delay(NO_JITTER, 8, reply="retry in 30 seconds") == pytest.approx(35)


def test_expired_after_max_age() -> None:
    policy = NO_JITTER
    now = T0 + timedelta(seconds=policy.max_age_seconds - 30)  # 30 s left < base (60 s)
    at = next_attempt_at(
        policy=policy, attempts=20, first_attempt_at=T0, now=now, reply_text="", rng=random.Random()
    )
    assert at is None
    past = T0 + timedelta(seconds=policy.max_age_seconds + 1)
    at = next_attempt_at(
        policy=policy,
        attempts=20,
        first_attempt_at=T0,
        now=past,
        reply_text="",
        rng=random.Random(),
    )
    assert at is None


def test_final_attempt_at_the_deadline() -> None:
    policy = NO_JITTER
    deadline = T0 + timedelta(seconds=policy.max_age_seconds)
    now = deadline - timedelta(hours=1)  # next backoff would be 4 h: overshoots
    at = next_attempt_at(
        policy=policy, attempts=20, first_attempt_at=T0, now=now, reply_text="", rng=random.Random()
    )
    assert at == deadline
    # The attempt made at the deadline is the last one.
    at = next_attempt_at(
        policy=policy,
        attempts=21,
        first_attempt_at=T0,
        now=deadline,
        reply_text="",
        rng=random.Random(),
    )
    assert at is None


def test_no_final_attempt_before_the_hint() -> None:
    policy = NO_JITTER
    deadline = T0 + timedelta(seconds=policy.max_age_seconds)
    now = deadline - timedelta(minutes=5)
    at = next_attempt_at(
        policy=policy,
        attempts=3,
        first_attempt_at=T0,
        now=now,
        reply_text="try again in 10 minutes",
        rng=random.Random(),
    )
    assert at is None
    at = next_attempt_at(
        policy=policy,
        attempts=3,
        first_attempt_at=T0,
        now=now,
        reply_text="try again in 4 minutes",
        rng=random.Random(),
    )
    assert at is not None
    assert at <= deadline


def test_within_deadline_schedule_is_plain_backoff() -> None:
    now = T0 + timedelta(days=1)
    assert _delay(NO_JITTER, 2, now=now) == 120


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        next_attempt_at(
            policy=RetryPolicy(),
            attempts=0,
            first_attempt_at=T0,
            now=T0,
            reply_text="",
            rng=random.Random(),
        )
