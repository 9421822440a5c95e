"""Typed records of campaigns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

CampaignState = Literal["draft", "running", "paused", "cancelled", "finished"]

# Every outbox status, in the order reports show them.
OUTBOX_STATUSES = (
    "queued",
    "deferred",
    "delivered",
    "bounced",
    "expired",
    "suppressed",
    "excluded",
    "skipped",
    "cancelled",
    "failed",
)


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    subject: str
    from_name: str
    from_email: str
    html_template: str
    text_template: str | None
    state: CampaignState
    pool: str
    list_ids: tuple[int, ...]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    tracking: bool = True  # rewrite links and add the open pixel; False: privacy mode


@dataclass(frozen=True)
class CampaignStatus:
    campaign: int
    state: CampaignState
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_json(self) -> dict[str, object]:
        """The stable ``campaigns status --json`` contract."""
        return {"campaign": self.campaign, "state": self.state, "counts": dict(self.counts)}
