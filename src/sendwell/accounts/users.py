"""Admin users: create, authenticate, list. Passwords are argon2id hashes (argon2-cffi).

Authentication takes the same time whether or not the user exists (a dummy hash is
verified for unknown addresses), so the sign-in form does not reveal who has an account.
Removing a user or resetting their password ends their sessions. The last user cannot be
removed, so the admin UI can always be signed in to.

Limits: no password reset by mail and no roles yet; every user can do everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from sendwell.audience.addresses import normalize
from sendwell.errors import ConflictError, InvalidInput, NotFound
from sendwell.store.schema_web import users, web_sessions

MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the address is unknown, so both paths cost one argon2 run."""
    return _hasher.hash("not a real password, only here to spend time")


@dataclass(frozen=True)
class User:
    id: int
    email: str
    created_at: datetime
    last_login_at: datetime | None


def _user(row: object) -> User:
    m = row._mapping  # type: ignore[attr-defined]
    return User(m["id"], m["email"], m["created_at"], m["last_login_at"])


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def create_user(conn: Connection, email: str, password: str, *, now: datetime) -> User:
    """Add an admin user; the address is normalized like a subscriber's."""
    addr = normalize(email)
    try:
        with conn.begin_nested():
            conn.execute(
                insert(users).values(
                    email=addr.email, password_hash=hash_password(password), created_at=now
                )
            )
    except IntegrityError:
        raise ConflictError(f"a user {addr.email} already exists") from None
    row = conn.execute(select(users).where(users.c.email == addr.email)).one()
    return _user(row)


def set_password(conn: Connection, email: str, password: str) -> bool:
    """Replace a user's password and end their sessions; False when there is no such user."""
    addr = normalize(email)
    row = conn.execute(select(users.c.id).where(users.c.email == addr.email)).first()
    if row is None:
        return False
    reset_password(conn, int(row.id), password)
    return True


def reset_password(
    conn: Connection, user_id: int, password: str, *, keep_session: int | None = None
) -> User:
    """Give a user a new password and end every session of theirs but ``keep_session``
    (the session of a user changing their own password)."""
    user = require_user(conn, user_id)
    conn.execute(
        update(users).where(users.c.id == user_id).values(password_hash=hash_password(password))
    )
    ended = delete(web_sessions).where(web_sessions.c.user_id == user_id)
    if keep_session is not None:
        ended = ended.where(web_sessions.c.id != keep_session)
    conn.execute(ended)
    return user


def remove_user(conn: Connection, user_id: int) -> User:
    """Delete a user and their sessions; the last user is kept (409)."""
    user = require_user(conn, user_id)
    if conn.execute(select(func.count()).select_from(users)).scalar_one() <= 1:
        raise ConflictError(f"{user.email} is the only user; add another before removing them")
    conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
    conn.execute(delete(users).where(users.c.id == user_id))
    return user


def authenticate(conn: Connection, email: str, password: str, *, now: datetime) -> User | None:
    """The user if the password matches, else None (unknown user or wrong password alike)."""
    try:
        key = normalize(email).email
    except InvalidInput:
        key = ""
    row = conn.execute(select(users).where(users.c.email == key)).first() if key else None
    stored = row._mapping["password_hash"] if row is not None else _dummy_hash()
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(stored):
        conn.execute(
            update(users).where(users.c.id == row.id).values(password_hash=_hasher.hash(password))
        )
    conn.execute(update(users).where(users.c.id == row.id).values(last_login_at=now))
    return _user(conn.execute(select(users).where(users.c.id == row.id)).one())


def all_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.id))]


def get_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _user(row) if row is not None else None


def require_user(conn: Connection, user_id: int) -> User:
    user = get_user(conn, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def find_user(conn: Connection, email: str) -> User:
    """A user by address (normalized like at sign-in)."""
    row = conn.execute(select(users).where(users.c.email == normalize(email).email)).first()
    if row is None:
        raise NotFound(f"no user {email}")
    return _user(row)
