"""feedback loop: campaign pauses and processed-event receipts

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sendwell.store.types

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "campaign_pauses",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("at", sendwell.store.types.UtcDateTime(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_pauses_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_pauses")),
    )
    with op.batch_alter_table("campaign_pauses", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_pauses_campaign", ["campaign_id"], unique=False)

    op.create_table(
        "feedback_receipts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sendwell.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_receipts")),
        sa.UniqueConstraint("source", "event_id", name="uq_feedback_receipts_source_event"),
    )


def downgrade() -> None:
    op.drop_table("feedback_receipts")
    with op.batch_alter_table("campaign_pauses", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_pauses_campaign")
    op.drop_table("campaign_pauses")
