"""Tables of the content capability, on the shared metadata of ``store.schema``.

* ``sending_domains``: one row per From domain sendwell signs for. Private keys are stored
  encrypted (Fernet, key derived from the sendwell secret key; see ``domains.keys``), so a
  database dump alone does not leak them and every worker machine can sign.
* ``campaign_settings``: per-campaign compliance and pacing values that override the
  global settings (sender identity, postal address, frequency cap). A campaign without a
  row uses the settings.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text

from sendwell.store.schema import BigId, metadata
from sendwell.store.types import UtcDateTime

sending_domains = Table(
    "sending_domains",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("domain", String(255), nullable=False, unique=True),
    Column("selector", String(63), nullable=False),
    Column("private_key", Text, nullable=False),  # encrypted PEM
    Column("ed25519_selector", String(63), nullable=True),
    Column("ed25519_private_key", Text, nullable=True),  # encrypted PEM
    Column("created_at", UtcDateTime, nullable=False),
)

campaign_settings = Table(
    "campaign_settings",
    metadata,
    Column("campaign_id", BigId, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("organization", String(200), nullable=True),
    Column("postal_address", Text, nullable=True),
    Column("frequency_cap_count", Integer, nullable=True),
    Column("frequency_cap_days", Integer, nullable=True),
)
