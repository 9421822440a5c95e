"""Withdraw a subscriber's subscriptions: from some lists, or from everything.

Used by the feedback loop (a complaint unsubscribes from everything; a reply to the
mailto unsubscribe address unsubscribes from the lists the message was sent for) and
later by the public unsubscribe pages. Rows already ``unsubscribed`` are left untouched,
so their ``updated_at`` keeps the date of the first withdrawal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, update

from sendwell.store.schema import subscriptions


def unsubscribe(
    conn: Connection, subscriber_id: int, *, now: datetime, list_ids: Sequence[int] | None = None
) -> int:
    """Mark the subscriber's subscriptions unsubscribed (all of them when ``list_ids`` is
    None). Returns how many rows changed."""
    cond = and_(
        subscriptions.c.subscriber_id == subscriber_id,
        subscriptions.c.status != "unsubscribed",
    )
    if list_ids is not None:
        if not list_ids:
            return 0
        cond = and_(cond, subscriptions.c.list_id.in_(list(list_ids)))
    result = conn.execute(
        update(subscriptions).where(cond).values(status="unsubscribed", updated_at=now)
    )
    return int(result.rowcount or 0)
