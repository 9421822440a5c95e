"""Withdraw a subscriber's subscriptions: from some lists, or from everything.

Used by the feedback loop (a complaint unsubscribes from everything; a reply to the
mailto unsubscribe address unsubscribes from the lists the message was sent for) and
later by the public unsubscribe pages. Rows already ``unsubscribed`` are left untouched,
so their ``updated_at`` keeps the date of the first withdrawal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, select, update

from sendwell.audience.consent import Evidence, entry_row, record_many
from sendwell.store.schema import subscribers, subscriptions


def unsubscribe(
    conn: Connection,
    subscriber_id: int,
    *,
    now: datetime,
    list_ids: Sequence[int] | None = None,
    evidence: Evidence | None = None,
) -> int:
    """Mark the subscriber's subscriptions unsubscribed (all of them when ``list_ids`` is
    None). Returns how many rows changed.

    With ``evidence`` (IP, user agent, source), each withdrawn subscription also gets an
    ``unsubscribe`` entry in the consent log; callers that write their own entry (the
    tracking pages) pass none.
    """
    cond = and_(
        subscriptions.c.subscriber_id == subscriber_id,
        subscriptions.c.status != "unsubscribed",
    )
    if list_ids is not None:
        if not list_ids:
            return 0
        cond = and_(cond, subscriptions.c.list_id.in_(list(list_ids)))
    changed = conn.execute(select(subscriptions.c.list_id).where(cond)).scalars().all()
    if not changed:
        return 0
    result = conn.execute(
        update(subscriptions).where(cond).values(status="unsubscribed", updated_at=now)
    )
    if evidence is None:
        return int(result.rowcount or 0)
    email_hash = conn.execute(
        select(subscribers.c.email_hash).where(subscribers.c.id == subscriber_id)
    ).scalar_one()
    record_many(
        conn,
        [
            entry_row(
                at=now,
                email_hash=email_hash,
                action="unsubscribe",
                evidence=evidence,
                subscriber_id=subscriber_id,
                list_id=int(list_id),
            )
            for list_id in changed
        ],
    )
    return int(result.rowcount or 0)
