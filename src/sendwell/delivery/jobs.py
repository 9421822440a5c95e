"""The engine's records and the interfaces it consumes.

The delivery engine never imports ``campaigns``: it works on :class:`OutboxJob` rows and
asks a :class:`MessageBuilder` (implemented by the campaigns package, handed in by the
composition root) for the bytes to send. Tests give it any builder they like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

OutcomeKind = Literal["delivered", "deferred", "bounced", "expired", "failed", "released"]


@dataclass(frozen=True, slots=True)
class OutboxJob:
    """One leased outbox row: a message to one recipient."""

    id: int
    campaign_id: int
    subscriber_id: int | None
    email: str
    domain: str
    attempts: int
    first_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class PreparedMessage:
    """What goes on the wire for one job."""

    mail_from: str
    rcpt: str
    data: bytes
    smtputf8: bool = False


@dataclass(frozen=True, slots=True)
class BuildFailure:
    """The builder could not produce a message for a job (e.g. a template error)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one attempt, as written back to the outbox row.

    ``released`` returns a leased row to the queue untouched (its campaign was paused,
    or the worker is shutting down before trying it).
    """

    job: OutboxJob
    kind: OutcomeKind
    at: datetime
    code: int | None = None
    reply: str | None = None
    mx_host: str | None = None
    next_attempt_at: datetime | None = None


class MessageBuilder(Protocol):
    """Produces the message for each job of a batch, in order."""

    def build(self, jobs: Sequence[OutboxJob]) -> list[PreparedMessage | BuildFailure]: ...
