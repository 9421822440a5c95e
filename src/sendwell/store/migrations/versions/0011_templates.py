"""content: the template library and campaign content snapshots

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sendwell.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=True),
        sa.Column("layout_id", _ID, nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sendwell.store.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", sendwell.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["layout_id"],
            ["templates.id"],
            name=op.f("fk_templates_layout_id_templates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_templates_name")),
    )
    op.create_table(
        "campaign_content",
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=True),
        sa.Column("layout_name", sa.String(length=200), nullable=True),
        sa.Column("layout_format", sa.String(length=10), nullable=True),
        sa.Column("layout_body", sa.Text(), nullable=True),
        sa.Column("layout_text", sa.Text(), nullable=True),
        sa.Column("template_id", _ID, nullable=True),
        sa.Column("template_name", sa.String(length=200), nullable=True),
        sa.Column("template_version", sa.Integer(), nullable=True),
        sa.Column("updated_at", sendwell.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_content_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.id"],
            name=op.f("fk_campaign_content_template_id_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaign_content")),
    )


def downgrade() -> None:
    op.drop_table("campaign_content")
    op.drop_table("templates")
