"""Tables of the feedback capability, on the shared metadata of ``store.schema``.

* ``campaign_pauses``: why a circuit breaker paused a campaign (one row per pause), so
  the reason can be shown next to the ``paused`` state.
* ``feedback_receipts``: ids of provider webhook events already processed (and digests
  of inbound messages), so a replayed or re-delivered event is applied at most once.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint

from sendwell.store.schema import BigId, metadata
from sendwell.store.types import UtcDateTime

campaign_pauses = Table(
    "campaign_pauses",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("campaign_id", BigId, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    # hard_bounce_rate | complaint_rate
    Column("rule", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_campaign_pauses_campaign", "campaign_id"),
)

feedback_receipts = Table(
    "feedback_receipts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # ses | sendgrid | mailgun | postmark | smtp | imap
    Column("source", String(20), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("source", "event_id", name="uq_feedback_receipts_source_event"),
)
