"""audience: consent log, imports, segments, campaign audience, campaign kind, outbox priority

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sendwell.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("at", sendwell.store.types.UtcDateTime(), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("subscriber_id", _ID, nullable=True),
        sa.Column("list_id", _ID, nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("wording", sa.Text(), nullable=True),
        sa.Column("wording_version", sa.String(length=50), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=True),
        sa.Column("confirmed_at", sendwell.store.types.UtcDateTime(), nullable=True),
        sa.Column("lawful_basis", sa.String(length=20), nullable=True),
        sa.Column("implied_expires_at", sendwell.store.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    op.create_index("ix_consent_events_subscriber", "consent_events", ["subscriber_id"])
    op.create_index(
        "ix_consent_events_orphan_hash",
        "consent_events",
        ["email_hash"],
        sqlite_where=sa.text("subscriber_id IS NULL"),
        postgresql_where=sa.text("subscriber_id IS NULL"),
    )
    op.create_table(
        "audience_imports",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("list_id", _ID, nullable=True),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("lawful_basis", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("last_line", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("error_file", sa.Text(), nullable=True),
        sa.Column("started_at", sendwell.store.types.UtcDateTime(), nullable=False),
        sa.Column("finished_at", sendwell.store.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_audience_imports_list_id_lists"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_imports")),
    )
    op.create_table(
        "segments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sendwell.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("name", name=op.f("uq_segments_name")),
    )
    op.create_table(
        "campaign_audience",
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("segment_id", _ID, nullable=True),
        sa.Column("exclude_segment_ids", sa.JSON(), nullable=False),
        sa.Column("reengage", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_audience_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_campaign_audience_segment_id_segments"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaign_audience")),
    )
    op.create_index("ix_events_subscriber_kind_at", "events", ["subscriber_id", "kind", "at"])
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="campaign")
        )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("priority")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("kind")
    op.drop_index("ix_events_subscriber_kind_at", table_name="events")
    op.drop_table("campaign_audience")
    op.drop_table("segments")
    op.drop_table("audience_imports")
    op.drop_index("ix_consent_events_orphan_hash", table_name="consent_events")
    op.drop_index("ix_consent_events_subscriber", table_name="consent_events")
    op.drop_table("consent_events")
