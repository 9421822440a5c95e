"""Circuit breakers: a campaign pauses itself when its bounces or complaints say so.

Rates come from the outbox (attempted, delivered) and from the feedback events
(``bounce_hard``, ``complaint``), counted per distinct outbox row so a re-delivered
report cannot inflate them. A tripped breaker moves a *running* campaign to ``paused``
and records the reason in ``campaign_pauses`` and as a ``campaign_paused`` event; resuming
is a human decision (``sendwell campaigns resume``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, desc, func, insert, select, update

from sendwell.feedback.policy import CampaignRates, FeedbackPolicy, Trip, breaker_trip
from sendwell.store.schema import campaigns, events, outbox
from sendwell.store.schema_feedback import campaign_pauses


def campaign_rates(conn: Connection, campaign_id: int) -> CampaignRates:
    by_status: dict[str, int] = dict(
        conn.execute(
            select(outbox.c.status, func.count())
            .where(
                and_(
                    outbox.c.campaign_id == campaign_id,
                    outbox.c.status.in_(("delivered", "bounced")),
                )
            )
            .group_by(outbox.c.status)
        ).all()
    )
    by_kind: dict[str, int] = dict(
        conn.execute(
            select(events.c.kind, func.count(func.distinct(events.c.outbox_id)))
            .where(
                and_(
                    events.c.campaign_id == campaign_id,
                    events.c.kind.in_(("bounce_hard", "complaint")),
                )
            )
            .group_by(events.c.kind)
        ).all()
    )
    delivered = int(by_status.get("delivered", 0))
    return CampaignRates(
        attempted=delivered + int(by_status.get("bounced", 0)),
        delivered=delivered,
        hard_bounces=int(by_kind.get("bounce_hard", 0)),
        complaints=int(by_kind.get("complaint", 0)),
    )


def check_circuit_breakers(
    conn: Connection, campaign_id: int, now: datetime, policy: FeedbackPolicy
) -> Trip | None:
    """Pause the campaign if a breaker trips. Returns the trip (None if nothing tripped
    or the campaign was not running)."""
    trip = breaker_trip(campaign_rates(conn, campaign_id), policy)
    if trip is None:
        return None
    paused = conn.execute(
        update(campaigns)
        .where(and_(campaigns.c.id == campaign_id, campaigns.c.state == "running"))
        .values(state="paused")
    )
    if not paused.rowcount:
        return None
    conn.execute(
        insert(campaign_pauses).values(
            campaign_id=campaign_id, at=now, rule=trip.rule, reason=trip.reason
        )
    )
    conn.execute(
        insert(events).values(
            at=now, kind="campaign_paused", campaign_id=campaign_id, detail=trip.reason
        )
    )
    return trip


def last_pause_reason(conn: Connection, campaign_id: int) -> str | None:
    """Why the campaign was last paused by a breaker, for status displays."""
    return conn.execute(
        select(campaign_pauses.c.reason)
        .where(campaign_pauses.c.campaign_id == campaign_id)
        .order_by(desc(campaign_pauses.c.id))
        .limit(1)
    ).scalar()
