"""Server-side sessions for the admin UI, each with its own CSRF token.

The cookie holds a random 256-bit id; the table keeps its SHA-256, so reading the
database does not let anyone sign in. Every state-changing form post must echo the
session's CSRF token (``csrf_token`` field), compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select

from sendwell.store.schema_web import users, web_sessions

COOKIE = "sendwell_session"


@dataclass(frozen=True)
class Session:
    id: int
    user_id: int
    user_email: str
    csrf_token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(conn: Connection, user_id: int, *, now: datetime, hours: float) -> str:
    """Create a session; returns the cookie value (shown nowhere else)."""
    token = secrets.token_urlsafe(32)
    # Expired sessions of anyone are swept here rather than by a background job.
    conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
    conn.execute(
        insert(web_sessions).values(
            token_hash=_digest(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return token


def find_session(conn: Connection, token: str, *, now: datetime) -> Session | None:
    if not token:
        return None
    row = conn.execute(
        select(web_sessions, users.c.email)
        .join(users, users.c.id == web_sessions.c.user_id)
        .where(web_sessions.c.token_hash == _digest(token), web_sessions.c.expires_at > now)
    ).first()
    if row is None:
        return None
    m = row._mapping
    return Session(m["id"], m["user_id"], m["email"], m["csrf_token"], m["expires_at"])


def end_session(conn: Connection, token: str) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == _digest(token)))


def csrf_ok(session: Session, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(
        session.csrf_token.encode(), (submitted or "").encode()
    )
