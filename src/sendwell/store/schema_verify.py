"""Tables of the verify capability, on the shared metadata of ``store.schema``.

``verifications`` keeps the latest verification of each normalized address, keyed by its
hash (the same SHA-256 as ``subscribers.email_hash``), so a result outlives neither more
nor less of the address than suppressions do: the address itself is not stored here.
``subscriber_id`` links the row to a subscriber when there is one (NULL for ad-hoc
checks, and after the subscriber is deleted). ``reason_codes`` repeats the codes of
``reasons`` as ``,code,code,`` so policies can match a code with a portable ``LIKE``.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table

from sendwell.store.schema import BigId, metadata
from sendwell.store.types import UtcDateTime

verifications = Table(
    "verifications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("email_hash", String(64), nullable=False, unique=True),
    Column(
        "subscriber_id",
        BigId,
        ForeignKey("subscribers.id", ondelete="SET NULL"),
        nullable=True,
        index=True,
    ),
    Column("domain", String(255), nullable=False),
    # valid | risky | invalid | unknown
    Column("verdict", String(10), nullable=False),
    Column("score", Integer, nullable=False),
    # [{"code": ..., "detail": ...}, ...]
    Column("reasons", JSON, nullable=False),
    Column("reason_codes", String(1000), nullable=False),
    Column("suggestion", String(320), nullable=True),
    Column("disposable", Boolean, nullable=False),
    Column("role", Boolean, nullable=False),
    Column("free", Boolean, nullable=False),
    # the layers that ran, comma-separated (syntax,dns,...)
    Column("checks", String(100), nullable=False),
    Column("checked_at", UtcDateTime, nullable=False),
)

__all__ = ["verifications"]
