"""content and compliance: sending domains, campaign settings

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sendwell.store.types

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sending_domains",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("selector", sa.String(length=63), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("ed25519_selector", sa.String(length=63), nullable=True),
        sa.Column("ed25519_private_key", sa.Text(), nullable=True),
        sa.Column("created_at", sendwell.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sending_domains")),
        sa.UniqueConstraint("domain", name=op.f("uq_sending_domains_domain")),
    )
    op.create_table(
        "campaign_settings",
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("postal_address", sa.Text(), nullable=True),
        sa.Column("frequency_cap_count", sa.Integer(), nullable=True),
        sa.Column("frequency_cap_days", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_settings_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaign_settings")),
    )


def downgrade() -> None:
    op.drop_table("campaign_settings")
    op.drop_table("sending_domains")
