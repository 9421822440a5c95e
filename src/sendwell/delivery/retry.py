"""Retry scheduling for temporary delivery failures: pure arithmetic, no I/O.

A 4xx reply (or a network fault) leaves an outbox row queued; this module says when to
try again. Time and randomness are passed in, so the schedule is reproducible in tests
and simulations.

Rules (DESIGN.md §5 "Retries"):

- The server knows best: a reply such as "4.7.28 try again in 10 minutes" is honoured
  (:func:`hinted_delay`), plus a small random margin so that a burst of deferrals does not
  come back as a burst; never earlier than the hint.
- Otherwise exponential backoff: ``base * factor ** (attempts - 1)``, capped at
  ``max_interval_seconds``, spread by ``±jitter`` and never above the cap.
- A message is retried for at most ``max_age_seconds`` after its first attempt. When the
  next retry would land past that deadline, one final attempt is made exactly at the
  deadline if at least ``base_seconds`` (and the server's hint, if any) remain; otherwise
  :func:`next_attempt_at` returns ``None`` and the caller marks the row expired. The final
  attempt exists because the last backoff step can be hours long: without it, a message
  whose domain recovers during that gap would expire without one more try.

Limits: hints are read in English only and in seconds/minutes/hours; anything else falls
back to backoff.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["RetryPolicy", "hinted_delay", "next_attempt_at"]

# Added on top of a server's hint: a fixed few seconds for clock skew, plus up to `jitter`
# of the hint so that many messages deferred together are not retried together.
HINT_MARGIN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and for how long temporary failures are retried."""

    base_seconds: float = 60.0  # greylisting typically clears in 1-5 minutes
    factor: float = 2.0
    max_interval_seconds: float = 4 * 3600
    max_age_seconds: float = 3 * 86400  # RFC 5321 §4.5.4.1 suggests 4-5 days; bulk mail ages faster
    jitter: float = 0.2  # +/- 20 %


_UNITS: dict[str, float] = {"s": 1.0, "m": 60.0, "h": 3600.0}

# "try again in 5 minutes", "retry in 30 seconds", "try again later in 2 min",
# "please try again after 10 mins", "in 1 hour", "wait 90s". The number must follow
# "in"/"after"/"wait" directly so that stray numbers (status codes, ids) do not match.
_HINT = re.compile(
    r"\b(?:in|after|wait)\s+(?:about\s+|approximately\s+|at\s+least\s+)?"
    r"(\d+(?:\.\d+)?)\s*"
    r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)(?![a-z])",
    re.IGNORECASE,
)


def hinted_delay(reply_text: str) -> float | None:
    """The delay in seconds a reply asks for ("try again in 5 minutes" → 300.0), or None."""
    match = _HINT.search(reply_text)
    if match is None:
        return None
    amount = float(match.group(1))
    unit = match.group(2)[0].lower()
    return amount * _UNITS[unit]


def backoff_delay(policy: RetryPolicy, attempts: int, rng: random.Random) -> float:
    """The jittered exponential delay after ``attempts`` attempts (no hint)."""
    # Exponent capped so that float overflow cannot occur for absurd attempt counts.
    exponent = min(attempts - 1, 64)
    raw = min(policy.base_seconds * policy.factor**exponent, policy.max_interval_seconds)
    jittered = raw * (1.0 + rng.uniform(-policy.jitter, policy.jitter))
    return min(jittered, policy.max_interval_seconds)


def next_attempt_at(
    *,
    policy: RetryPolicy,
    attempts: int,
    first_attempt_at: datetime,
    now: datetime,
    reply_text: str,
    rng: random.Random,
) -> datetime | None:
    """When to try again after ``attempts`` attempts (>= 1); None means "expired".

    See the module docstring for the rules.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    hint = hinted_delay(reply_text)
    if hint is not None:
        delay = hint + HINT_MARGIN_SECONDS + rng.uniform(0.0, policy.jitter * hint)
    else:
        delay = backoff_delay(policy, attempts, rng)

    deadline = first_attempt_at + timedelta(seconds=policy.max_age_seconds)
    candidate = now + timedelta(seconds=delay)
    if candidate <= deadline:
        return candidate
    remaining = (deadline - now).total_seconds()
    if remaining >= policy.base_seconds and (hint is None or remaining >= hint):
        return deadline
    return None
