"""Parse one inbound message and apply it, in one transaction: what every mail source does.

Inbound SMTP, IMAP polling and ``sendwell feedback ingest`` all call :func:`ingest`.
Storage errors propagate (as :class:`~sendwell.errors.StorageError`) so the source can
ask for the message again later (SMTP 451, IMAP: leave it unseen); parse problems never
do — they yield an ``unknown`` report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from sendwell.clock import Clock
from sendwell.errors import StorageError
from sendwell.feedback.apply import Action, apply_report
from sendwell.feedback.mime import DEFAULT_MAX_BYTES
from sendwell.feedback.parse import parse_feedback
from sendwell.feedback.policy import FeedbackPolicy
from sendwell.feedback.records import FeedbackReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ingested:
    report: FeedbackReport
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Ingestor:
    """Everything needed to turn raw messages into store actions."""

    engine: Engine
    key: bytes
    policy: FeedbackPolicy
    clock: Clock
    max_parse_bytes: int = DEFAULT_MAX_BYTES

    def ingest(self, raw: bytes, *, envelope_rcpt: str | None = None) -> Ingested:
        report = parse_feedback(
            raw, self.key, envelope_rcpt=envelope_rcpt, max_bytes=self.max_parse_bytes
        )
        try:
            with self.engine.begin() as conn:
                actions = apply_report(conn, report, now=self.clock.now(), policy=self.policy)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise StorageError(f"cannot record feedback: {reason}") from None
        log.info(
            "feedback %s outbox=%s (%s) actions=%s",
            report.kind,
            report.outbox_id,
            report.format or "-",
            ",".join(a.kind for a in actions) or "none",
        )
        return Ingested(report, tuple(actions))
