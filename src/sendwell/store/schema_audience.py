"""Tables of the audience capability, on the shared metadata of ``store.schema``.

* ``consent_events``: the append-only consent log. One row per subscribe, confirm,
  unsubscribe, import and erase, keyed by the address hash (not the address) so that the
  "erased" entry outlives the person. Rows are never updated; erasure deletes a person's
  earlier rows (they hold IP and user agent) and appends one ``erase`` row. An import's
  entries reference the import (``import_id``) and leave the evidence every row of the
  file shares (wording, version, method, lawful basis, reference) to that record, so a
  million-row import does not store its wording a million times; what differs per row
  (time, address, list, the row's own source and IP, implied-consent expiry) stays here.
* ``audience_imports``: one row per import run: file, declared basis and wording, counts
  and state, so an interrupted import is visible and its error file can be found. Its
  evidence columns are written once and never updated.
* ``segments``: saved filters (the JSON filter language of ``audience.segments``).
* ``campaign_audience``: a campaign's segment, excluded segments and re-engagement flag
  (a campaign without a row targets its lists as before).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from sendwell.store.schema import BigId, events, metadata
from sendwell.store.types import UtcDateTime

consent_events = Table(
    "consent_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("email_hash", String(64), nullable=False),
    # No foreign key: the log must survive the subscriber row (erasure).
    Column("subscriber_id", BigId, nullable=True),
    Column("list_id", BigId, nullable=True),
    # subscribe | confirm | unsubscribe | import | erase
    Column("action", String(20), nullable=False),
    # form | api | import | cli | feedback | admin
    Column("source", String(20), nullable=False),
    # the form URL, API token id, or "import:<id>"
    Column("source_ref", String(200), nullable=False, default=""),
    Column("ip", String(45), nullable=True),
    Column("user_agent", Text, nullable=True),
    Column("wording", Text, nullable=True),
    Column("wording_version", String(50), nullable=True),
    # checkbox | double_opt_in | import | link | manual
    Column("method", String(20), nullable=True),
    Column("confirmed_at", UtcDateTime, nullable=True),
    # consent | soft_opt_in
    Column("lawful_basis", String(20), nullable=True),
    Column("implied_expires_at", UtcDateTime, nullable=True),
    # Set on import entries: the shared evidence lives in that record, which therefore
    # cannot be deleted while entries point at it. Not indexed: nothing looks entries up
    # by import, and an index would cost every imported row a write.
    Column(
        "import_id",
        BigId,
        ForeignKey("audience_imports.id", ondelete="RESTRICT"),
        nullable=True,
    ),
    # Entries are found by subscriber (ids grow, so bulk imports append to this index)
    # and, for entries without a subscriber (erasure), by hash: a partial index, because
    # a full index on random hashes costs a bulk import more than all its other writes.
    Index("ix_consent_events_subscriber", "subscriber_id"),
    Index(
        "ix_consent_events_orphan_hash",
        "email_hash",
        sqlite_where=text("subscriber_id IS NULL"),
        postgresql_where=text("subscriber_id IS NULL"),
    ),
)

audience_imports = Table(
    "audience_imports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("list_id", BigId, ForeignKey("lists.id", ondelete="SET NULL"), nullable=True),
    Column("file_name", Text, nullable=False),
    Column("lawful_basis", String(20), nullable=False),
    # The consent wording the importer declared for the whole file, and its version.
    Column("wording", Text, nullable=True),
    Column("wording_version", String(50), nullable=True),
    Column("mode", String(20), nullable=False),  # upsert | skip_existing
    Column("state", String(20), nullable=False),  # running | finished | failed
    Column("last_line", Integer, nullable=False, default=0),
    Column("added", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("error_file", Text, nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
)

segments = Table(
    "segments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("definition", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

campaign_audience = Table(
    "campaign_audience",
    metadata,
    Column("campaign_id", BigId, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("segment_id", BigId, ForeignKey("segments.id", ondelete="RESTRICT"), nullable=True),
    Column("exclude_segment_ids", JSON, nullable=False, default=list),
    Column("reengage", Boolean, nullable=False, default=False),
)

# Engagement look-ups (sunset rule, "opened within N days" segments) go by subscriber.
Index(
    "ix_events_subscriber_kind_at",
    events.c.subscriber_id,
    events.c.kind,
    events.c.at,
)
