"""Withdrawals from the public unsubscribe page, RFC 8058 one-click and the preference center.

One outbox row (named by a signed token) identifies the person and the campaign. Scopes:

* ``campaign`` — the lists the message was sent for (what one-click means: "stop this");
* ``lists`` — chosen lists (the preference center);
* ``all`` — every list, plus a global suppression with reason ``unsubscribe``, so no
  future list or import reaches the address.

Each withdrawal, in one transaction: subscriptions marked unsubscribed
(``audience.unsubscribe``), an ``unsubscribe`` event (``detail`` = ``<source> <scope>``),
a consent-log entry per list (``audience.consent.record``, action ``unsubscribe``), and the
person's not-yet-sent outbox rows of campaigns they no longer receive set to
``suppressed`` — effective for the very next message, not only the next campaign. Rows a
worker holds at this instant (lease live) are left alone: they may already be on the wire.

Repeating a withdrawal is harmless: nothing changes, no second event is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, and_, exists, insert, or_, select, update

from sendwell.audience.addresses import normalize
from sendwell.audience.consent import Evidence
from sendwell.audience.consent import record as record_consent
from sendwell.audience.suppressions import suppress
from sendwell.audience.unsubscribe import unsubscribe
from sendwell.store.schema import (
    campaign_lists,
    events,
    lists,
    outbox,
    subscriptions,
)

Scope = Literal["campaign", "lists", "all"]
Source = Literal["one_click", "page", "preferences"]


@dataclass(frozen=True)
class ListChoice:
    id: int
    name: str
    description: str
    subscribed: bool
    in_campaign: bool


@dataclass(frozen=True)
class Recipient:
    """Who a token's outbox row is about, and their lists."""

    outbox_id: int
    campaign_id: int
    subscriber_id: int | None
    email: str
    lists: tuple[ListChoice, ...]


@dataclass(frozen=True)
class Request:
    """Who asked, for the consent log."""

    source: Source
    ip: str | None = None
    user_agent: str | None = None


def recipient(conn: Connection, outbox_id: int) -> Recipient | None:
    row = conn.execute(
        select(outbox.c.campaign_id, outbox.c.subscriber_id, outbox.c.email).where(
            outbox.c.id == outbox_id
        )
    ).first()
    if row is None:
        return None
    in_campaign = set(
        conn.execute(
            select(campaign_lists.c.list_id).where(campaign_lists.c.campaign_id == row.campaign_id)
        ).scalars()
    )
    choices: list[ListChoice] = []
    if row.subscriber_id is not None:
        for r in conn.execute(
            select(lists.c.id, lists.c.name, lists.c.description, subscriptions.c.status)
            .join(subscriptions, subscriptions.c.list_id == lists.c.id)
            .where(subscriptions.c.subscriber_id == row.subscriber_id)
            .order_by(lists.c.name)
        ):
            choices.append(
                ListChoice(
                    r.id, r.name, r.description, r.status != "unsubscribed", r.id in in_campaign
                )
            )
    return Recipient(outbox_id, row.campaign_id, row.subscriber_id, row.email, tuple(choices))


def withdraw(
    conn: Connection,
    who: Recipient,
    scope: Scope,
    *,
    now: datetime,
    request: Request,
    list_ids: Sequence[int] = (),
) -> int:
    """Unsubscribe; returns how many subscriptions changed (0 when already done)."""
    if who.subscriber_id is None:  # the person was erased: only the suppression remains
        if scope == "all":
            suppress(conn, who.email, reason="unsubscribe", now=now, detail=request.source)
        return 0
    if scope == "all":
        targets = None
    elif scope == "campaign":
        targets = [c.id for c in who.lists if c.in_campaign]
    else:
        mine = {c.id for c in who.lists}
        targets = [i for i in list_ids if i in mine]
    changing = [c.id for c in who.lists if c.subscribed and (targets is None or c.id in targets)]
    changed = unsubscribe(conn, who.subscriber_id, now=now, list_ids=targets)
    suppressed = False
    if scope == "all":
        suppressed = suppress(conn, who.email, reason="unsubscribe", now=now, detail=request.source)
    if not changed and not suppressed:
        return 0
    conn.execute(
        insert(events).values(
            at=now,
            kind="unsubscribe",
            campaign_id=who.campaign_id,
            outbox_id=who.outbox_id,
            subscriber_id=who.subscriber_id,
            detail=f"{request.source} {scope}",
        )
    )
    evidence = Evidence(
        source="form",
        source_ref=f"outbox:{who.outbox_id} {request.source}",
        ip=request.ip,
        user_agent=(request.user_agent or "")[:500] or None,
        method="link",
    )
    email_hash = normalize(who.email).hash
    scopes: list[int | None] = list(changing) or [None]
    for list_id in scopes:
        record_consent(
            conn,
            at=now,
            email_hash=email_hash,
            action="unsubscribe",
            evidence=evidence,
            subscriber_id=who.subscriber_id,
            list_id=list_id,
        )
    _stop_pending(conn, who.subscriber_id, everything=scope == "all", now=now)
    return changed


def _stop_pending(conn: Connection, subscriber_id: int, *, everything: bool, now: datetime) -> None:
    """Queued/deferred rows the person should no longer get become ``suppressed``."""
    cond = and_(
        outbox.c.subscriber_id == subscriber_id,
        outbox.c.status.in_(("queued", "deferred")),
        or_(outbox.c.lease_expires_at.is_(None), outbox.c.lease_expires_at <= now),
    )
    if not everything:
        still_wanted = exists().where(
            and_(
                campaign_lists.c.campaign_id == outbox.c.campaign_id,
                subscriptions.c.list_id == campaign_lists.c.list_id,
                subscriptions.c.subscriber_id == subscriber_id,
                subscriptions.c.status == "confirmed",
            )
        )
        cond = and_(cond, ~still_wanted)
    conn.execute(
        update(outbox)
        .where(cond)
        .values(status="suppressed", updated_at=now, done_at=now, last_reply="unsubscribed")
    )
