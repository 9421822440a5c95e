"""Tables of the web capability (admin UI, REST API, public pages), on the shared metadata.

* ``users``: people who sign in to the admin UI; ``password_hash`` is an argon2id hash.
* ``web_sessions``: server-side sessions. The cookie carries a random id; only its
  SHA-256 is stored, so a database dump does not hand out live sessions. Each session has
  its own CSRF token, checked on every state-changing form post.
* ``api_tokens``: bearer tokens for ``/api/v1``; the secret is shown once and only its
  SHA-256 is kept. ``scopes`` is a space-separated list such as ``lists:read campaigns:write``.
* ``web_rate_events``: one row per counted attempt (failed sign-in, subscribe-form post)
  under a key such as ``login:<ip>:<email>``, so limits hold across processes.
* ``web_jobs``: background work started from the web (imports, list verifications): its
  parameters, state, progress (``done`` of ``total``: bytes of an upload, addresses of a
  list), result counts and failure message. ``heartbeat_at`` is renewed while a web
  process works on it, so a job whose process died is seen as interrupted.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, ForeignKey, Index, String, Table, Text

from sendwell.store.schema import BigId, metadata
from sendwell.store.types import UtcDateTime

users = Table(
    "users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_login_at", UtcDateTime, nullable=True),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", BigId, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)

web_rate_events = Table(
    "web_rate_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_web_rate_events_key_at", "key", "at"),
)

web_jobs = Table(
    "web_jobs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # import | verify_list
    Column("kind", String(20), nullable=False),
    # pending (an upload waiting for its column mapping) | queued | running | finished |
    # failed | cancelled
    Column("state", String(20), nullable=False),
    Column("list_id", BigId, ForeignKey("lists.id", ondelete="SET NULL"), nullable=True),
    Column("params", JSON, nullable=False),
    Column("file_name", Text, nullable=True),
    Column("total", BigInteger, nullable=False, default=0),
    Column("done", BigInteger, nullable=False, default=0),
    Column("result", JSON, nullable=True),
    Column("error", Text, nullable=True),
    # the audience_imports row of an import, once the import has started
    Column("import_id", BigId, nullable=True),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    # "user:<id>" or "token:<id>"
    Column("created_by", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("heartbeat_at", UtcDateTime, nullable=True),
    Index("ix_web_jobs_kind_id", "kind", "id"),
)
