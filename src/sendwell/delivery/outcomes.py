"""What a failed attempt means for its outbox row (pure; time and randomness passed in).

A permanent failure (5xx, null MX, no such domain) bounces and is never retried. A
temporary one (4xx, dropped connection, timeout) is deferred to the retry schedule —
honouring "try again in N minutes" in the reply — or expires past the maximum age.
"""

from __future__ import annotations

import random
from datetime import datetime

from sendwell.delivery.jobs import OutboxJob, Outcome, OutcomeKind
from sendwell.delivery.retry import RetryPolicy, next_attempt_at
from sendwell.errors import DeliveryError, PermanentFailure


def failure_outcome(
    job: OutboxJob,
    exc: DeliveryError,
    *,
    now: datetime,
    mx_host: str | None,
    retry: RetryPolicy,
    rng: random.Random,
) -> Outcome:
    code = exc.code or None
    if isinstance(exc, PermanentFailure):
        return Outcome(job=job, kind="bounced", at=now, code=code, reply=str(exc),
                       mx_host=mx_host)  # fmt: skip
    when = next_attempt_at(
        policy=retry, attempts=job.attempts + 1, first_attempt_at=job.first_attempt_at or now,
        now=now, reply_text=exc.reply, rng=rng,
    )  # fmt: skip
    kind: OutcomeKind = "expired" if when is None else "deferred"
    return Outcome(job=job, kind=kind, at=now, code=code, reply=str(exc), mx_host=mx_host,
                   next_attempt_at=when)  # fmt: skip
