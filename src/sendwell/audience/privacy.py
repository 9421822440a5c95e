"""Privacy requests: export everything held about one person, or erase them.

:func:`export_person` gathers the subscriber row, subscriptions, consent log, suppressions,
delivery records and events into one JSON-ready dict (GDPR Art. 15/20).

:func:`erase_person` (Art. 17) deletes the subscriber (subscriptions cascade), their
consent entries, events and the addresses in delivery records, then adds a global
``erased`` suppression and one ``erase`` consent entry, both keyed by the address hash:
the person is never mailed or re-imported again, yet their address is gone.

Limits: outbox rows are kept for campaign totals with the address replaced by the hash
(``erased-<hash>``) and the subscriber link cleared; copies in backups, logs or sandbox
records are outside the database and not touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from sendwell.audience.addresses import normalize
from sendwell.audience.consent import Evidence, forget, history, record
from sendwell.audience.suppressions import suppress_hash
from sendwell.errors import NotFound
from sendwell.store.schema import events, outbox, subscribers, subscriptions, suppressions


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def export_person(conn: Connection, email: str) -> dict[str, Any]:
    """Everything stored about one address; NotFound when nothing is."""
    addr = normalize(email)
    person = conn.execute(select(subscribers).where(subscribers.c.email == addr.email)).first()
    consent = [e.as_json() for e in history(conn, addr)]
    held = [
        {k: _iso(v) for k, v in r._mapping.items()}
        for r in conn.execute(select(suppressions).where(suppressions.c.email_hash == addr.hash))
    ]
    if person is None and not consent and not held:
        raise NotFound(f"nothing is held about {addr.email}")
    data: dict[str, Any] = {
        "email": addr.email,
        "email_hash": addr.hash,
        "subscriber": None,
        "subscriptions": [],
        "consent": consent,
        "suppressions": held,
        "deliveries": [],
        "events": [],
    }
    if person is None:
        return data
    sid = person.id
    data["subscriber"] = {k: _iso(v) for k, v in person._mapping.items()}
    data["subscriptions"] = [
        {k: _iso(v) for k, v in r._mapping.items()}
        for r in conn.execute(select(subscriptions).where(subscriptions.c.subscriber_id == sid))
    ]
    data["deliveries"] = [
        {
            "campaign_id": r.campaign_id,
            "status": r.status,
            "attempts": r.attempts,
            "done_at": _iso(r.done_at),
            "last_reply": r.last_reply,
        }
        for r in conn.execute(select(outbox).where(outbox.c.subscriber_id == sid))
    ]
    data["events"] = [
        {"at": _iso(r.at), "kind": r.kind, "campaign_id": r.campaign_id, "detail": r.detail}
        for r in conn.execute(
            select(events).where(events.c.subscriber_id == sid).order_by(events.c.at)
        )
    ]
    return data


@dataclass(frozen=True)
class Erasure:
    email_hash: str
    subscriber_deleted: bool
    consent_entries_deleted: int
    events_deleted: int
    deliveries_anonymized: int


def erase_person(conn: Connection, email: str, *, now: datetime, requested_by: str) -> Erasure:
    """Delete one person's data, keep them suppressed, and log the erasure."""
    addr = normalize(email)
    sid = conn.execute(select(subscribers.c.id).where(subscribers.c.email == addr.email)).scalar()
    # Before the subscriber row goes: the log is found through it.
    n_consent = forget(conn, addr)
    n_events = n_outbox = 0
    if sid is not None:
        n_events = int(
            conn.execute(delete(events).where(events.c.subscriber_id == sid)).rowcount or 0
        )
        n_outbox = int(
            conn.execute(
                update(outbox)
                .where(outbox.c.subscriber_id == sid)
                .values(subscriber_id=None, email=f"erased-{addr.hash[:40]}", updated_at=now)
            ).rowcount
            or 0
        )
        conn.execute(delete(subscriptions).where(subscriptions.c.subscriber_id == sid))
        conn.execute(delete(subscribers).where(subscribers.c.id == sid))
    # Earlier suppressions (a bounce, a complaint) are replaced by the one that says why
    # the address is gone; list-level ones would be redundant under a global one.
    conn.execute(delete(suppressions).where(suppressions.c.email_hash == addr.hash))
    suppress_hash(conn, addr.hash, reason="erased", now=now, detail=f"erased by {requested_by}")
    record(
        conn,
        at=now,
        email_hash=addr.hash,
        action="erase",
        evidence=Evidence(source="admin", source_ref=requested_by[:200], method="manual"),
    )
    return Erasure(addr.hash, sid is not None, n_consent, n_events, n_outbox)
