"""delivery engine: campaign pool, source warm-up days, site snapshots

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sendwell.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.add_column(
            sa.Column("pool", sa.String(length=100), server_default="default", nullable=False)
        )
    op.create_table(
        "source_warmup",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("days_sent", sa.Integer(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_source_warmup")),
    )
    op.create_table(
        "delivery_sites",
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("site", sa.String(length=1000), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("sent_1m", sa.Integer(), nullable=False),
        sa.Column("deferred_1m", sa.Integer(), nullable=False),
        sa.Column("rate_limit", sa.Float(), nullable=True),
        sa.Column("connection_limit", sa.Integer(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("updated_at", sendwell.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("worker", "source", "site", name=op.f("pk_delivery_sites")),
    )


def downgrade() -> None:
    op.drop_table("delivery_sites")
    op.drop_table("source_warmup")
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.drop_column("pool")
