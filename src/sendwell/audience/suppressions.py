"""Suppressions: addresses that must never be mailed, keyed by the address hash.

A suppression is global (``list_id`` NULL) or for one list, has a reason (hard bounce,
complaint, unsubscribe, manual, erased) and an optional expiry. Only the SHA-256 of the
normalized address is stored, so a suppression outlives the erasure of the person and a
suppression list can be exported without exporting addresses. Imports and campaigns
check it in SQL (``importer``, ``campaigns.service``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Connection, and_, delete, or_, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sendwell.audience.addresses import normalize
from sendwell.audience.records import SuppressionReason
from sendwell.errors import InvalidInput
from sendwell.store.schema import suppressions

_HASH = re.compile(r"[0-9a-f]{64}")

REASONS: tuple[SuppressionReason, ...] = (
    "hard_bounce",
    "complaint",
    "unsubscribe",
    "manual",
    "erased",
)


def suppress(
    conn: Connection,
    email: str,
    *,
    reason: SuppressionReason,
    now: datetime,
    list_id: int | None = None,
    detail: str = "",
    expires_at: datetime | None = None,
) -> bool:
    """Suppress an address (globally, or from one list). Returns False if it already was."""
    addr = normalize(email)
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(suppressions).values(
        email_hash=addr.hash,
        list_id=list_id,
        reason=reason,
        detail=detail,
        created_at=now,
        expires_at=expires_at,
    )
    # NULL list_ids never collide in a UNIQUE index, so global duplicates are checked here.
    if list_id is None and is_suppressed(conn, addr.hash, now=now):
        return False
    result = conn.execute(stmt.on_conflict_do_nothing())
    return bool(result.rowcount)


def active_condition(now: datetime):  # type: ignore[no-untyped-def]
    """SQL condition: the suppression row is in force at ``now``."""
    return or_(suppressions.c.expires_at.is_(None), suppressions.c.expires_at > now)


def is_suppressed(
    conn: Connection, email_hash: str, *, now: datetime, list_id: int | None = None
) -> bool:
    scope: ColumnElement[bool] = suppressions.c.list_id.is_(None)
    if list_id is not None:
        scope = or_(scope, suppressions.c.list_id == list_id)
    row = conn.execute(
        select(suppressions.c.id)
        .where(and_(suppressions.c.email_hash == email_hash, scope, active_condition(now)))
        .limit(1)
    ).first()
    return row is not None


@dataclass(frozen=True)
class Suppression:
    """One suppression row (the address itself is not stored, only its hash)."""

    id: int
    email_hash: str
    list_id: int | None
    reason: str
    detail: str
    created_at: datetime
    expires_at: datetime | None


def parse_expiry(text: str, what: str = "expiry") -> datetime | None:
    """An ISO date or time when a suppression lapses (UTC unless it says otherwise);
    empty text means never."""
    text = text.strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not an ISO date (2027-01-31)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def check_reason(reason: str) -> SuppressionReason:
    if reason not in REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(REASONS)}, not {reason!r}")
    return reason


def suppress_hash(
    conn: Connection,
    email_hash: str,
    *,
    reason: SuppressionReason,
    now: datetime,
    list_id: int | None = None,
    detail: str = "",
    expires_at: datetime | None = None,
) -> bool:
    """Suppress by hash (erasure, or an imported hash list). False if it already was."""
    if not _HASH.fullmatch(email_hash):
        raise InvalidInput(f"{email_hash[:80]!r} is not a SHA-256 address hash")
    if list_id is None and is_suppressed(conn, email_hash, now=now):
        return False
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(suppressions).values(
        email_hash=email_hash,
        list_id=list_id,
        reason=reason,
        detail=detail,
        created_at=now,
        expires_at=expires_at,
    )
    return bool(conn.execute(stmt.on_conflict_do_nothing()).rowcount)


def unsuppress(conn: Connection, email: str, *, list_id: int | None = None) -> int:
    """Lift an address's suppression (global, or from one list); returns rows removed.

    An ``erased`` suppression is never lifted: the person asked to be forgotten and the
    hash is all that keeps them from being re-imported.
    """
    addr = normalize(email)
    scope = (
        suppressions.c.list_id.is_(None) if list_id is None else suppressions.c.list_id == list_id
    )
    result = conn.execute(
        delete(suppressions).where(
            and_(suppressions.c.email_hash == addr.hash, scope, suppressions.c.reason != "erased")
        )
    )
    return int(result.rowcount or 0)


def list_suppressions(
    conn: Connection, *, list_id: int | None = None, include_expired: bool = False, now: datetime
) -> Iterator[Suppression]:
    """Suppressions, oldest first, streamed (``list_id`` None: every scope)."""
    cond: ColumnElement[bool] = true()
    if list_id is not None:
        cond = suppressions.c.list_id == list_id
    if not include_expired:
        cond = and_(cond, active_condition(now))
    # yield_per on the statement, not the connection: on the connection it would stick
    # and turn the caller's later DML into server-side cursors.
    stmt = select(suppressions).where(cond).order_by(suppressions.c.id)
    for r in conn.execute(stmt.execution_options(yield_per=5000)):
        yield Suppression(
            r.id, r.email_hash, r.list_id, r.reason, r.detail, r.created_at, r.expires_at
        )
