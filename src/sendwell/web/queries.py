"""Read-only queries the web pages and API need that no capability offers yet.

Pages of subscribers, suppressions and campaigns with keyset pagination (``after`` is the
last id of the previous page, so a page costs the same however deep it is), and the
subscriptions of one subscriber. Writes always go through the capabilities' services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, select

from sendwell.audience.records import Subscriber
from sendwell.campaigns.records import Campaign
from sendwell.campaigns.service import get_campaign
from sendwell.store.schema import campaigns, lists, subscribers, subscriptions, suppressions


@dataclass(frozen=True)
class SubscriptionInfo:
    list_id: int
    list_name: str
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SuppressionInfo:
    id: int
    email_hash: str
    list_id: int | None
    reason: str
    detail: str
    created_at: datetime
    expires_at: datetime | None


def _subscriber(row: object) -> Subscriber:
    m = row._mapping  # type: ignore[attr-defined]
    return Subscriber(
        id=m["id"], email=m["email"], domain=m["domain"], first_name=m["first_name"],
        last_name=m["last_name"], attributes=m["attributes"] or {}, status=m["status"],
        created_at=m["created_at"],
    )  # fmt: skip


def subscriber_page(
    conn: Connection,
    *,
    limit: int,
    after: int = 0,
    search: str = "",
    list_id: int | None = None,
    status: str | None = None,
) -> list[Subscriber]:
    """Subscribers by id; ``search`` matches a part of the address or name."""
    cond = [subscribers.c.id > after]
    if search:
        # LIKE wildcards in the search text are literal characters, not patterns.
        pattern = (
            "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        cond.append(
            func.lower(subscribers.c.email).like(pattern, escape="\\")
            | func.lower(func.coalesce(subscribers.c.first_name, "")).like(pattern, escape="\\")
            | func.lower(func.coalesce(subscribers.c.last_name, "")).like(pattern, escape="\\")
        )
    if status:
        cond.append(subscribers.c.status == status)
    query = select(subscribers)
    if list_id is not None:
        query = query.join(
            subscriptions,
            and_(subscriptions.c.subscriber_id == subscribers.c.id,
                 subscriptions.c.list_id == list_id),
        )  # fmt: skip
    rows = conn.execute(query.where(and_(*cond)).order_by(subscribers.c.id).limit(limit))
    return [_subscriber(r) for r in rows]


def subscriber_by_id(conn: Connection, subscriber_id: int) -> Subscriber | None:
    row = conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).first()
    return _subscriber(row) if row is not None else None


def subscriptions_of(conn: Connection, subscriber_id: int) -> list[SubscriptionInfo]:
    rows = conn.execute(
        select(subscriptions, lists.c.name)
        .join(lists, lists.c.id == subscriptions.c.list_id)
        .where(subscriptions.c.subscriber_id == subscriber_id)
        .order_by(lists.c.name)
    )
    return [SubscriptionInfo(r.list_id, r.name, r.status, r.created_at, r.updated_at) for r in rows]


def suppression_page(
    conn: Connection, *, limit: int, after: int = 0, reason: str | None = None,
    email_hash: str | None = None, list_id: int | None = None,
) -> list[SuppressionInfo]:  # fmt: skip
    cond = [suppressions.c.id > after]
    if reason:
        cond.append(suppressions.c.reason == reason)
    if email_hash:
        cond.append(suppressions.c.email_hash == email_hash)
    if list_id is not None:
        cond.append(suppressions.c.list_id == list_id)
    rows = conn.execute(
        select(suppressions).where(and_(*cond)).order_by(suppressions.c.id).limit(limit)
    )
    return [
        SuppressionInfo(r.id, r.email_hash, r.list_id, r.reason, r.detail, r.created_at,
                        r.expires_at)
        for r in rows
    ]  # fmt: skip


def campaign_page(
    conn: Connection, *, limit: int, after: int = 0, state: str | None = None,
    newest_first: bool = False,
) -> list[Campaign]:  # fmt: skip
    query = select(campaigns.c.id)
    if newest_first:
        if after:
            query = query.where(campaigns.c.id < after)
        query = query.order_by(campaigns.c.id.desc())
    else:
        query = query.where(campaigns.c.id > after).order_by(campaigns.c.id)
    if state:
        query = query.where(campaigns.c.state == state)
    ids = conn.execute(query.limit(limit)).scalars().all()
    return [get_campaign(conn, i) for i in ids]
