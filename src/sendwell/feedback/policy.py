"""The feedback policies as pure functions: the soft-bounce window and circuit breakers.

* Soft bounces suppress an address once ``soft_bounce_limit`` (K) of its last
  ``soft_bounce_window`` (N) attempted deliveries bounced softly — a window, not a
  lifetime count, so a mailbox that was full last year and fine since is not punished.
* A campaign's breaker trips when its hard-bounce rate (hard bounces / attempted
  deliveries) or its complaint rate (complaints / delivered) exceeds the limit. Rates are
  only judged once ``breaker_min_sample`` messages were attempted, so the first bounce of
  a campaign does not pause it at 100 %. Gmail's published ceiling for the spam rate is
  0.3 %, hence the default complaint limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sendwell.config import Settings


@dataclass(frozen=True)
class FeedbackPolicy:
    soft_bounce_limit: int = 3
    soft_bounce_window: int = 5
    max_hard_bounce_rate: float = 0.05
    max_complaint_rate: float = 0.003
    breaker_min_sample: int = 200

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedbackPolicy:
        return cls(
            soft_bounce_limit=settings.feedback_soft_bounce_limit,
            soft_bounce_window=settings.feedback_soft_bounce_window,
            max_hard_bounce_rate=settings.feedback_max_hard_bounce_rate,
            max_complaint_rate=settings.feedback_max_complaint_rate,
            breaker_min_sample=settings.feedback_breaker_min_sample,
        )


def soft_window_exceeded(recent_soft: Sequence[bool], policy: FeedbackPolicy) -> bool:
    """``recent_soft``: per attempted delivery to one address, newest first, whether it
    bounced softly. True when K of the last N did."""
    window = list(recent_soft)[: policy.soft_bounce_window]
    return sum(window) >= policy.soft_bounce_limit


@dataclass(frozen=True)
class CampaignRates:
    attempted: int  # outbox rows that reached a final SMTP outcome (delivered or bounced)
    delivered: int
    hard_bounces: int  # distinct outbox rows with a hard bounce
    complaints: int  # distinct outbox rows with a complaint


@dataclass(frozen=True)
class Trip:
    rule: str  # hard_bounce_rate | complaint_rate
    reason: str


def breaker_trip(rates: CampaignRates, policy: FeedbackPolicy) -> Trip | None:
    """The breaker that trips for these rates, or None."""
    if rates.attempted < policy.breaker_min_sample:
        return None
    hard_rate = rates.hard_bounces / rates.attempted
    if hard_rate > policy.max_hard_bounce_rate:
        return Trip(
            "hard_bounce_rate",
            f"hard bounces {rates.hard_bounces}/{rates.attempted} = {hard_rate:.2%} "
            f"exceed {policy.max_hard_bounce_rate:.2%}",
        )
    if rates.delivered:
        complaint_rate = rates.complaints / rates.delivered
        if complaint_rate > policy.max_complaint_rate:
            return Trip(
                "complaint_rate",
                f"complaints {rates.complaints}/{rates.delivered} = {complaint_rate:.2%} "
                f"exceed {policy.max_complaint_rate:.2%}",
            )
    return None
