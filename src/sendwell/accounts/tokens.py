"""API tokens: a random secret shown once, stored as its SHA-256, with scopes.

A token looks like ``sw_<43 url-safe characters>``; the prefix makes leaked tokens easy to
find with secret scanners. Scopes are ``<area>:read`` / ``<area>:write``; ``write``
implies ``read`` of the same area. ``all`` is stored as itself and means every scope,
present and future: a token made with it keeps full access when new areas are added.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from sendwell.errors import InvalidInput, NotFound
from sendwell.store.schema_web import api_tokens

AREAS = (
    "lists", "subscribers", "suppressions", "campaigns", "segments", "verification",
    "reports", "domains", "settings", "users", "templates",
)  # fmt: skip
SCOPES = tuple(f"{area}:{mode}" for area in AREAS for mode in ("read", "write"))
ALL = "all"
PREFIX = "sw_"


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    scopes: frozenset[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def allows(self, scope: str) -> bool:
        if ALL in self.scopes:
            return True
        area, _, mode = scope.partition(":")
        return scope in self.scopes or (mode == "read" and f"{area}:write" in self.scopes)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token(row: object) -> ApiToken:
    m = row._mapping  # type: ignore[attr-defined]
    return ApiToken(
        m["id"], m["name"], frozenset(m["scopes"].split()), m["created_at"],
        m["last_used_at"], m["revoked_at"],
    )  # fmt: skip


def parse_scopes(raw: Iterable[str]) -> list[str]:
    """Validate scopes (comma- or space-separated items allowed); ``all`` means every one,
    including areas added later, and stands alone."""
    scopes: list[str] = []
    for item in raw:
        for scope in item.replace(",", " ").split():
            if scope == ALL or scope in SCOPES:
                scopes.append(scope)
            else:
                raise InvalidInput(f"unknown scope {scope!r}; known: all, {', '.join(SCOPES)}")
    if not scopes:
        raise InvalidInput("a token needs at least one scope")
    if ALL in scopes:
        return [ALL]
    return list(dict.fromkeys(scopes))


def create_token(
    conn: Connection, name: str, scopes: Iterable[str], *, now: datetime
) -> tuple[ApiToken, str]:
    """Store a new token; returns it and its secret, which is not kept anywhere."""
    chosen = parse_scopes(scopes)
    secret = PREFIX + secrets.token_urlsafe(32)
    token_id = conn.execute(
        insert(api_tokens).values(
            name=name or "token", token_hash=_digest(secret), scopes=" ".join(chosen),
            created_at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
    row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).one()
    return _token(row), secret


def check_token(conn: Connection, secret: str, *, now: datetime) -> ApiToken | None:
    """The live token with this secret (its last use is stamped), or None."""
    if not secret.startswith(PREFIX):
        return None
    row = conn.execute(
        select(api_tokens).where(
            api_tokens.c.token_hash == _digest(secret), api_tokens.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=now))
    return _token(row)


def all_tokens(conn: Connection) -> list[ApiToken]:
    return [_token(r) for r in conn.execute(select(api_tokens).order_by(api_tokens.c.id))]


def revoke_token(conn: Connection, token_id: int, *, now: datetime) -> None:
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if not result.rowcount:
        raise NotFound(f"no live API token with id {token_id}")
