"""The database schema as SQLAlchemy Core tables.

Migrations in ``migrations/versions`` create exactly these tables; a test compares the
migrated database with this metadata so the two cannot drift apart.

Notes on choices:

* ``subscribers.email`` holds the normalized address (see ``audience.addresses``) and is
  unique; ``email_hash`` is its SHA-256, the key that ``suppressions`` use so that erasing a
  person keeps them suppressed without keeping their address.
* ``outbox`` is the delivery record: one row per (campaign, subscriber), unique, so
  starting a campaign twice cannot queue anyone twice. ``domain`` is copied from the
  address so the engine can group by destination without string work in SQL.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
    true,
)

from sendwell.store.types import UtcDateTime

# Named constraints make migrations portable between SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    # Not indexed: hashes are random, so an index on them costs a bulk import more than
    # every other write together; look-ups go by ``email`` (callers know the address) and
    # joins to ``suppressions``/``verifications`` probe those tables' hash indexes.
    Column("email_hash", String(64), nullable=False),
    Column("domain", String(255), nullable=False),
    Column("first_name", String(200), nullable=True),
    Column("last_name", String(200), nullable=True),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("status", String(20), nullable=False, default="active"),  # active | blocked
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

lists = Table(
    "lists",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("optin", String(10), nullable=False, default="single"),  # single | double
    Column("created_at", UtcDateTime, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column(
        "subscriber_id", BigId, ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("list_id", BigId, ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True),
    # unconfirmed | confirmed | unsubscribed
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # A list's members in one status, read from the index alone (migration 0017).
    Index("ix_subscriptions_list_status_subscriber", "list_id", "status", "subscriber_id"),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("email_hash", String(64), nullable=False),
    # NULL list_id: suppressed from every list.
    Column("list_id", BigId, ForeignKey("lists.id", ondelete="CASCADE"), nullable=True),
    # hard_bounce | complaint | unsubscribe | manual | erased
    Column("reason", String(20), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    UniqueConstraint("email_hash", "list_id", name="uq_suppressions_hash_list"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("subject", String(998), nullable=False),
    Column("from_name", String(200), nullable=False, default=""),
    Column("from_email", String(320), nullable=False),
    Column("html_template", Text, nullable=False),
    Column("text_template", Text, nullable=True),
    # draft | running | paused | cancelled | finished
    Column("state", String(20), nullable=False, default="draft"),
    # The pool of sending sources (shaping file) this campaign goes out from.
    Column("pool", String(100), nullable=False, server_default="default"),
    # Tracking (issue #8, migration 0009): rewrite links and add the open pixel; false is
    # privacy mode, links stay untouched.
    Column("tracking", Boolean, nullable=False, server_default=true()),
    # Added by the audience migration (0007): "campaign", or the transactional per-list
    # "confirmation" / "welcome" streams that are never finished and skip caps and sunset.
    Column("kind", String(20), nullable=False, server_default="campaign"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
)

campaign_lists = Table(
    "campaign_lists",
    metadata,
    Column("campaign_id", BigId, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("list_id", BigId, ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("campaign_id", BigId, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column(
        "subscriber_id", BigId, ForeignKey("subscribers.id", ondelete="SET NULL"), nullable=True
    ),
    Column("email", String(320), nullable=False),
    Column("domain", String(255), nullable=False),
    # queued | deferred | delivered | bounced | expired | suppressed | cancelled
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("first_attempt_at", UtcDateTime, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", UtcDateTime, nullable=True),
    Column("mx_host", String(255), nullable=True),
    Column("last_code", Integer, nullable=True),
    Column("last_reply", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime, nullable=True),
    # Added by the audience migration (0007): leased highest first, so double opt-in
    # confirmations overtake campaign traffic.
    Column("priority", Integer, nullable=False, server_default="0"),
    UniqueConstraint("campaign_id", "subscriber_id", name="uq_outbox_campaign_subscriber"),
    # Rows by status and due time (the worker's idle check: when does the next fall due).
    Index("ix_outbox_due", "status", "next_attempt_at"),
    Index("ix_outbox_campaign_status", "campaign_id", "status"),
)

# The lease's order over pending rows only (migration 0018): a lease reads the first rows
# of this index instead of sorting every due row of the queue.
Index(
    "ix_outbox_pending",
    outbox.c.priority.desc(),
    outbox.c.next_attempt_at,
    outbox.c.id,
    sqlite_where=text("status IN ('queued', 'deferred')"),
    postgresql_where=text("status IN ('queued', 'deferred')"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    # delivered | deferred | bounced | expired (feedback and tracking add more kinds)
    Column("kind", String(20), nullable=False),
    Column("campaign_id", BigId, nullable=True),
    Column("outbox_id", BigId, nullable=True),
    Column("subscriber_id", BigId, nullable=True),
    Column("code", Integer, nullable=True),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_events_campaign_kind", "campaign_id", "kind"),
    Index("ix_events_outbox", "outbox_id"),
)

# Each later capability declares its tables in its own module on the same metadata; they
# are imported here so that ``metadata`` always describes the whole database.
from sendwell.store import (  # noqa: E402
    schema_audience,
    schema_content,
    schema_delivery,
    schema_feedback,
    schema_tracking,
    schema_verify,
    schema_web,
)

__all__ = [
    "metadata",
    "schema_audience",
    "schema_content",
    "schema_delivery",
    "schema_feedback",
    "schema_tracking",
    "schema_verify",
    "schema_web",
]
