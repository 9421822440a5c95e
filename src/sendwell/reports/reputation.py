"""Sender reputation across campaigns: bounce and complaint rates against the thresholds
Gmail and Yahoo publish for bulk senders — keep the rate under 0.1 % (target) and never
reach 0.3 % (ceiling, where they start rejecting or junking mail).

Rates: ``bounce_rate`` = hard bounces / attempted; ``complaint_rate`` = complaints /
delivered. Verdicts: ``ok`` below the target, ``warning`` from the target up to the
ceiling, ``over`` at or above it.

Limit: providers measure complaints on their own traffic only (Gmail's Postmaster Tools);
ours is computed from the feedback-loop reports we receive, which undercount Gmail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, and_, case, desc, distinct, func, select

from sendwell.store.schema import campaigns, events, outbox

TARGET = 0.001
CEILING = 0.003
Verdict = Literal["ok", "warning", "over"]


def verdict(rate: float) -> Verdict:
    if rate >= CEILING:
        return "over"
    if rate >= TARGET:
        return "warning"
    return "ok"


@dataclass(frozen=True)
class CampaignReputation:
    campaign_id: int
    name: str
    started_at: datetime | None
    attempted: int
    delivered: int
    hard_bounces: int
    complaints: int

    @property
    def bounce_rate(self) -> float:
        return self.hard_bounces / self.attempted if self.attempted else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.delivered if self.delivered else 0.0

    @property
    def bounce_verdict(self) -> Verdict:
        return verdict(self.bounce_rate)

    @property
    def complaint_verdict(self) -> Verdict:
        return verdict(self.complaint_rate)


def total(rows: list[CampaignReputation]) -> CampaignReputation:
    """All campaigns together (pure)."""
    return CampaignReputation(
        0,
        "all campaigns",
        None,
        sum(r.attempted for r in rows),
        sum(r.delivered for r in rows),
        sum(r.hard_bounces for r in rows),
        sum(r.complaints for r in rows),
    )


def reputation(conn: Connection, *, limit: int = 50) -> list[CampaignReputation]:
    """The most recent ``limit`` started campaigns, newest first."""
    chosen = conn.execute(
        select(campaigns.c.id, campaigns.c.name, campaigns.c.started_at)
        .where(campaigns.c.started_at.is_not(None))
        .order_by(desc(campaigns.c.started_at), desc(campaigns.c.id))
        .limit(limit)
    ).all()
    ids = [r.id for r in chosen]
    if not ids:
        return []
    sent = {
        r.campaign_id: (int(r.attempted or 0), int(r.delivered or 0))
        for r in conn.execute(
            select(
                outbox.c.campaign_id,
                func.sum(case((outbox.c.attempts > 0, 1), else_=0)).label("attempted"),
                func.sum(case((outbox.c.status == "delivered", 1), else_=0)).label("delivered"),
            )
            .where(outbox.c.campaign_id.in_(ids))
            .group_by(outbox.c.campaign_id)
        )
    }
    fb: dict[tuple[int, str], int] = {
        (r.campaign_id, r.kind): int(r.n)
        for r in conn.execute(
            select(
                events.c.campaign_id,
                events.c.kind,
                func.count(distinct(events.c.outbox_id)).label("n"),
            )
            .where(
                and_(
                    events.c.campaign_id.in_(ids),
                    events.c.kind.in_(("bounce_hard", "complaint")),
                )
            )
            .group_by(events.c.campaign_id, events.c.kind)
        )
    }
    return [
        CampaignReputation(
            r.id,
            r.name,
            r.started_at,
            sent.get(r.id, (0, 0))[0],
            sent.get(r.id, (0, 0))[1],
            fb.get((r.id, "bounce_hard"), 0),
            fb.get((r.id, "complaint"), 0),
        )
        for r in chosen
    ]
