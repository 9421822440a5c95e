"""Suppressions: addresses that must never be mailed, keyed by the address hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sendwell.audience.addresses import normalize
from sendwell.audience.records import SuppressionReason
from sendwell.store.schema import suppressions

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
