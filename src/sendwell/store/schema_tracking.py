"""Tables of the tracking capability, on the shared metadata of ``store.schema``.

* ``tracking_links``: each campaign's click allow-list — the literal URLs of its HTML
  template, numbered in order of first appearance (``tracking.rewrite.tracked_links``).
  Written when a worker first prepares the campaign; a click token carries only the
  number, and the redirect goes to the URL stored here.

The ``campaigns.tracking`` flag (privacy mode when false) is a column of ``campaigns`` in
``store.schema``, added by the same migration (0009).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, Table, Text

from sendwell.store.schema import BigId, metadata

tracking_links = Table(
    "tracking_links",
    metadata,
    Column("campaign_id", BigId, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("url", Text, nullable=False),
)
