"""Tables of the delivery engine, on the shared metadata of ``store.schema``.

* ``source_warmup`` — per sending source, how many distinct days it has sent on, so a
  warm-up schedule advances only on days the source actually sent.
* ``delivery_sites`` — each worker's latest view of its ready queues (queue depth, open
  sessions, recent rates, automation actions), refreshed every few seconds, read by
  ``sendwell delivery sites``.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Float, Integer, String, Table, Text

from sendwell.store.schema import metadata
from sendwell.store.types import UtcDateTime

source_warmup = Table(
    "source_warmup",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("days_sent", Integer, nullable=False),
    Column("last_day", Date, nullable=False),
)

delivery_sites = Table(
    "delivery_sites",
    metadata,
    Column("worker", String(64), primary_key=True),
    Column("source", String(100), primary_key=True),
    Column("site", String(1000), primary_key=True),
    Column("provider", String(100), nullable=False),
    Column("queued", Integer, nullable=False),
    Column("sessions", Integer, nullable=False),
    Column("sent_1m", Integer, nullable=False),
    Column("deferred_1m", Integer, nullable=False),
    Column("rate_limit", Float, nullable=True),  # messages/s in force, None = unlimited
    Column("connection_limit", Integer, nullable=False),
    Column("actions", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
