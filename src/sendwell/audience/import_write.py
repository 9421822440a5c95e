"""Writing one import batch: subscribers, subscriptions and consent entries.

:func:`write_batch` runs inside the caller's transaction, which must hold the write lock
from its first statement (``store.engine.write_transaction``, ``BEGIN IMMEDIATE`` on
SQLite): what it reads first (suppressions, who already exists, the largest id) decides
what it writes, so nobody may write in between.

Per row it costs one insert into ``subscribers`` (the table and its unique address
index), one into ``subscriptions`` and one small consent entry that references the
import's record for the evidence the whole file shares (``store.schema_audience``). Only
the subscribers travel through the driver (tuples zipped from the batch's columns, one
``executemany``); their ids are allocated up front, so the database itself writes their
subscriptions and consent entries with ``INSERT ... SELECT`` from those rows, about three
times cheaper than sending rows (consent entries go row by row only when the file gives
each row its own source, IP or consent date). Existing subscribers (a re-import) take
the slower path of :func:`_update`, which reads and merges their attributes.

Limits: an import never re-subscribes someone who unsubscribed from the list (the
subscription insert skips existing pairs), and on PostgreSQL a subscriber added by
someone else between this batch's look-up and its insert fails the batch with a unique
violation (the import is then ``failed`` and resumable by running it again).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any, Literal

from sqlalchemy import Connection, Table, bindparam, func, insert, literal, select, update

from sendwell.audience.bulk import (
    allocate_ids,
    bind_constant,
    bind_processor,
    fetch_raw,
    ids_condition,
    insert_many,
    keys_table,
)
from sendwell.audience.import_parse import Batch
from sendwell.audience.records import MailingList
from sendwell.store.engine import insert_for
from sendwell.store.schema import subscribers, subscriptions, suppressions
from sendwell.store.schema_audience import consent_events

Mode = Literal["upsert", "skip_existing"]

_SUBSCRIBER_COLUMNS = (
    "id",
    "email",
    "email_hash",
    "domain",
    "first_name",
    "last_name",
    "attributes",
    "status",
    "created_at",
    "updated_at",
)
_SUBSCRIPTION_COLUMNS = ("subscriber_id", "list_id", "status", "created_at", "updated_at")
# The evidence the whole file shares (wording, version, method, lawful basis) is the
# import's record; an entry holds what differs per row.
_CONSENT_COLUMNS = (
    "at",
    "email_hash",
    "subscriber_id",
    "list_id",
    "action",
    "source",
    "source_ref",
    "ip",
    "implied_expires_at",
    "import_id",
)


@dataclass(frozen=True)
class ImportTarget:
    """What every batch of one import shares."""

    import_id: int
    mailing_list: MailingList
    mode: Mode
    now: datetime


@dataclass
class BatchOutcome:
    """Counts of one batch, and the error-file rows of the people it skipped."""

    added: int = 0
    updated: int = 0
    skipped: int = 0
    skipped_rows: list[list[Any]] = field(default_factory=list)


def write_batch(conn: Connection, batch: Batch, target: ImportTarget) -> BatchOutcome:
    """Write ``batch`` (see the module docstring); the caller commits."""
    outcome = BatchOutcome()
    if not len(batch):
        return outcome
    blocked = _suppressed(conn, batch, target)
    if blocked:
        for i, email_hash in enumerate(batch.hashes):
            if email_hash in blocked:
                reason = f"skipped: suppressed ({blocked[email_hash]})"
                outcome.skipped_rows.append([batch.lines[i], reason, batch.emails[i]])
        outcome.skipped += len(outcome.skipped_rows)
        batch = batch.subset([i for i, h in enumerate(batch.hashes) if h not in blocked])
    keys = keys_table(conn, batch.emails)
    existing: dict[str, int] = dict(
        fetch_raw(
            conn,
            select(subscribers.c.email, subscribers.c.id).select_from(
                keys.join(subscribers, subscribers.c.email == keys.c.value)
            ),
        )
    )
    fresh, known = batch, Batch()
    if existing:
        fresh = batch.subset([i for i, e in enumerate(batch.emails) if e not in existing])
        known = batch.subset([i for i, e in enumerate(batch.emails) if e in existing])
    fresh_ids = allocate_ids(conn, subscribers, len(fresh))
    stamp = bind_constant(conn, subscribers, "created_at", target.now)
    added = insert_many(
        conn,
        subscribers,
        _SUBSCRIBER_COLUMNS,
        zip(
            fresh_ids,
            fresh.emails,
            fresh.hashes,
            fresh.domains,
            fresh.first,
            fresh.last,
            fresh.attrs_json,
            repeat("active"),
            repeat(stamp),
            repeat(stamp),
        ),
    )
    known_ids = [existing[e] for e in known.emails]
    if target.mode == "skip_existing":
        outcome.skipped += len(known)
        known, known_ids = Batch(), []
    else:
        _update(conn, known, known_ids, target.now)
    for ids, existed in ((fresh_ids, False), (known_ids, True)):
        _subscribe(conn, ids, target, existed=existed)
        _record_consent(conn, fresh if not existed else known, ids, target)
    outcome.added, outcome.updated = added, len(known)
    return outcome


def _subscribe(
    conn: Connection, ids: Sequence[int], target: ImportTarget, *, existed: bool
) -> None:
    """Subscribe these subscribers to the list, in one statement run by the database."""
    if not ids:
        return
    ml, now = target.mailing_list, target.now
    status = "confirmed" if ml.optin == "single" else "unconfirmed"
    rows = select(
        subscribers.c.id,
        _constant(subscriptions, "list_id", ml.id),
        _constant(subscriptions, "status", status),
        _constant(subscriptions, "created_at", now),
        _constant(subscriptions, "updated_at", now),
    ).where(ids_condition(conn, subscribers.c.id, ids))
    stmt = insert_for(conn)(subscriptions).from_select(_SUBSCRIPTION_COLUMNS, rows)
    if existed:
        # Someone already on the list keeps their subscription as it is: an unsubscribed
        # person is never re-subscribed by an import. New subscribers have none yet.
        stmt = stmt.on_conflict_do_nothing()
    conn.execute(stmt)


def _record_consent(
    conn: Connection, rows: Batch, ids: Sequence[int], target: ImportTarget
) -> None:
    """One ``import`` entry per subscriber (``ids[i]`` is the subscriber of ``rows`` row i).

    When the per-row evidence (the row's own source, IP and implied-consent expiry) is the
    same for the whole batch (a file without those columns), the database writes the
    entries itself from the subscriber rows; otherwise they are sent row by row."""
    if not ids:
        return
    refs, ips, expiries = _shared(rows.refs), _shared(rows.ips), _shared(rows.expiries)
    if refs is _VARIES or ips is _VARIES or expiries is _VARIES:
        insert_many(conn, consent_events, _CONSENT_COLUMNS, _consent_rows(conn, rows, ids, target))
        return
    entries = select(
        _constant(consent_events, "at", target.now),
        subscribers.c.email_hash,
        subscribers.c.id,
        _constant(consent_events, "list_id", target.mailing_list.id),
        _constant(consent_events, "action", "import"),
        _constant(consent_events, "source", "import"),
        _constant(consent_events, "source_ref", refs),
        _constant(consent_events, "ip", ips),
        _constant(consent_events, "implied_expires_at", expiries),
        _constant(consent_events, "import_id", target.import_id),
    ).where(ids_condition(conn, subscribers.c.id, ids))
    conn.execute(insert(consent_events).from_select(_CONSENT_COLUMNS, entries))


_VARIES = object()


def _shared(column: list[Any]) -> Any:
    """The one value every row of a (non-empty) column holds, or ``_VARIES``."""
    first = column[0]
    return first if column.count(first) == len(column) else _VARIES


def _constant(table: Table, column: str, value: Any) -> Any:
    """A bound constant typed like ``table.column`` (so dates are stored the same way)."""
    return literal(value, type_=table.c[column].type)


def _suppressed(conn: Connection, batch: Batch, target: ImportTarget) -> dict[str, str]:
    """Hash -> reason for the batch's addresses suppressed globally or for this list."""
    keys = keys_table(conn, batch.hashes)
    found = conn.execute(
        select(
            suppressions.c.email_hash,
            suppressions.c.list_id,
            suppressions.c.expires_at,
            suppressions.c.reason,
        ).select_from(keys.join(suppressions, suppressions.c.email_hash == keys.c.value))
    )
    # Which ones apply is decided here: conditions on the list and the expiry in the
    # query would let the database scan the whole table instead of probing by hash.
    list_id, now = target.mailing_list.id, target.now
    return {
        str(h): str(reason)
        for h, in_list, expires, reason in found
        if in_list in (None, list_id) and (expires is None or expires > now)
    }


def _consent_rows(
    conn: Connection, rows: Batch, ids: Any, target: ImportTarget
) -> Any:  # an iterator of driver tuples in _CONSENT_COLUMNS order
    at = bind_constant(conn, consent_events, "at", target.now)
    expiries: Any = rows.expiries
    process = bind_processor(conn, consent_events, "implied_expires_at")
    if process is not None and any(e is not None for e in expiries):
        expiries = map(process, expiries)
    return zip(
        repeat(at),
        rows.hashes,
        ids,
        repeat(target.mailing_list.id),
        repeat("import"),
        repeat("import"),
        rows.refs,
        rows.ips,
        expiries,
        repeat(target.import_id),
    )


def _update(conn: Connection, rows: Batch, ids: list[int], now: datetime) -> None:
    """Upsert mode: supplied names replace, attributes are merged into the stored ones."""
    if not ids:
        return
    current = dict(
        conn.execute(
            select(subscribers.c.id, subscribers.c.attributes).where(
                ids_condition(conn, subscribers.c.id, ids)
            )
        ).all()
    )
    params = [
        {
            "b_id": sid,
            "b_first": first,
            "b_last": last,
            "b_attrs": {**(current.get(sid) or {}), **json.loads(attrs)},
        }
        for sid, first, last, attrs in zip(ids, rows.first, rows.last, rows.attrs_json, strict=True)
    ]
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == bindparam("b_id"))
        .values(
            first_name=func.coalesce(bindparam("b_first"), subscribers.c.first_name),
            last_name=func.coalesce(bindparam("b_last"), subscribers.c.last_name),
            attributes=bindparam("b_attrs", type_=subscribers.c.attributes.type),
            updated_at=now,
        ),
        params,
    )
