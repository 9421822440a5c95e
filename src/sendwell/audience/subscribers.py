"""Subscribers and their subscriptions.

``add_subscribers`` is the one write path for new people, used by the CLI, the CSV
import and the demo: it normalizes every address, upserts the subscriber and subscribes
them to a list in one transaction per batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sendwell.audience.addresses import normalize
from sendwell.audience.consent import Evidence, entry_row, record_many
from sendwell.audience.records import MailingList, NewSubscriber, Subscriber
from sendwell.errors import NotFound
from sendwell.store.schema import subscribers, subscriptions


@dataclass(frozen=True)
class AddResult:
    added: int
    updated: int


def _insert_for(conn: Connection):  # type: ignore[no-untyped-def]
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def add_subscribers(
    conn: Connection,
    people: Iterable[NewSubscriber],
    *,
    mailing_list: MailingList,
    now: datetime,
    evidence: Evidence | None = None,
) -> AddResult:
    """Upsert people and subscribe them to ``mailing_list``.

    With ``evidence``, each person's consent is logged too (one ``subscribe`` entry for
    the list); without it the caller records consent itself (the CLI, API and importer do),
    or the people stay without a record and preflight refuses to mail them.

    Addresses must be valid (raises :class:`InvalidInput` otherwise, before writing
    anything of this batch). On a single opt-in list the subscription is confirmed at
    once; on a double opt-in list it stays unconfirmed until the person confirms. An
    existing subscriber keeps their address and gets the newly supplied name fields and
    attributes merged in.
    """
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for person in people:
        addr = normalize(person.email)
        if addr.email in seen:
            continue
        seen.add(addr.email)
        rows.append(
            {
                "email": addr.email,
                "email_hash": addr.hash,
                "domain": addr.domain,
                "first_name": person.first_name or None,
                "last_name": person.last_name or None,
                "attributes": dict(person.attributes),
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
        )
    if not rows:
        return AddResult(0, 0)
    insert = _insert_for(conn)
    existing = {
        r.email: r
        for r in conn.execute(
            select(subscribers.c.id, subscribers.c.email, subscribers.c.attributes).where(
                subscribers.c.email.in_([r["email"] for r in rows])
            )
        )
    }
    new_rows = [r for r in rows if r["email"] not in existing]
    if new_rows:
        conn.execute(insert(subscribers), new_rows)
    for r in rows:
        old = existing.get(r["email"])
        if old is None:
            continue
        values: dict[str, Any] = {
            "updated_at": now,
            "attributes": {**(old.attributes or {}), **r["attributes"]},
        }
        if r["first_name"]:
            values["first_name"] = r["first_name"]
        if r["last_name"]:
            values["last_name"] = r["last_name"]
        conn.execute(subscribers.update().where(subscribers.c.id == old.id).values(**values))
    ids = (
        conn.execute(
            select(subscribers.c.id).where(subscribers.c.email.in_([r["email"] for r in rows]))
        )
        .scalars()
        .all()
    )
    status = "confirmed" if mailing_list.optin == "single" else "unconfirmed"
    stmt = insert(subscriptions).values(
        [
            {
                "subscriber_id": sid,
                "list_id": mailing_list.id,
                "status": status,
                "created_at": now,
                "updated_at": now,
            }
            for sid in ids
        ]
    )
    # Re-adding someone who is already on the list leaves their subscription as it is:
    # in particular an unsubscribed person is not silently re-subscribed.
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["subscriber_id", "list_id"]))
    if evidence is not None:
        hashes = {r["email"]: r["email_hash"] for r in rows}
        owners = conn.execute(
            select(subscribers.c.id, subscribers.c.email).where(subscribers.c.id.in_(ids))
        ).all()
        record_many(
            conn,
            [
                entry_row(at=now, email_hash=hashes[o.email], action="subscribe",
                          evidence=evidence, subscriber_id=o.id, list_id=mailing_list.id)
                for o in owners
            ],
        )  # fmt: skip
    return AddResult(added=len(new_rows), updated=len(rows) - len(new_rows))


def get_subscriber(conn: Connection, email: str) -> Subscriber:
    addr = normalize(email)
    row = conn.execute(select(subscribers).where(subscribers.c.email == addr.email)).first()
    if row is None:
        raise NotFound(f"no subscriber {addr.email}")
    m = row._mapping
    return Subscriber(
        id=m["id"],
        email=m["email"],
        domain=m["domain"],
        first_name=m["first_name"],
        last_name=m["last_name"],
        attributes=m["attributes"] or {},
        status=m["status"],
        created_at=m["created_at"],
    )
