"""Typed records of the feedback loop, shared by the parsers, the sources and the policies.

:meth:`FeedbackReport.to_json` is the stable contract printed by
``sendwell feedback parse --json``::

    {"kind": "bounce|complaint|autoreply|unsubscribe|unknown",
     "recipients": [{"address", "action", "status", "classification", "reason",
                     "diagnostic"}],
     "outbox_id": int | null}

Fields may be added to it later; none will be renamed or removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ReportKind = Literal["bounce", "complaint", "autoreply", "unsubscribe", "unknown"]
# hard: the address does not exist (suppress); soft: temporary or mailbox-level trouble
# (counted in a window); block: policy or reputation, the sender's problem (never
# suppresses); delayed: a warning that delivery is still being retried (no action);
# success: a positive DSN (delivered/relayed/expanded, no action).
Classification = Literal["hard", "soft", "block", "delayed", "success", "unknown"]
IdSource = Literal["verp", "reference", "unsubscribe", "webhook", "session", "none"]


@dataclass(frozen=True)
class RecipientResult:
    """What a report says about one recipient."""

    address: str
    action: str  # RFC 3464 Action (failed, delayed, delivered, relayed, expanded) or ""
    status: str  # RFC 3463 enhanced status code ("5.1.1") or ""
    classification: Classification
    reason: str  # a short machine-friendly reason, e.g. "mailbox_unknown"
    diagnostic: str  # the remote server's text, unfolded to one line

    def to_json(self) -> dict[str, str]:
        return {
            "address": self.address,
            "action": self.action,
            "status": self.status,
            "classification": self.classification,
            "reason": self.reason,
            "diagnostic": self.diagnostic,
        }


@dataclass(frozen=True)
class FeedbackReport:
    """Everything sendwell understands of one feedback message or webhook event."""

    kind: ReportKind
    recipients: tuple[RecipientResult, ...] = ()
    outbox_id: int | None = None
    id_source: IdSource = "none"
    # Complaints: the ARF Feedback-Type (abuse, fraud, not-spam, ...).
    feedback_type: str = ""
    # What produced it: "dsn", "arf", "qmail", "exim", "gmail", "webhook:ses", ...
    format: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "recipients": [r.to_json() for r in self.recipients],
            "outbox_id": self.outbox_id,
        }
