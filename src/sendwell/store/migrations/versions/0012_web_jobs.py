"""web: background jobs (imports and list verifications started from the web)

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sendwell.store.types

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "web_jobs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("list_id", _ID, nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("import_id", _ID, nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sendwell.store.types.UtcDateTime(), nullable=False),
        sa.Column("started_at", sendwell.store.types.UtcDateTime(), nullable=True),
        sa.Column("finished_at", sendwell.store.types.UtcDateTime(), nullable=True),
        sa.Column("heartbeat_at", sendwell.store.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_web_jobs_list_id_lists"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_jobs")),
    )
    op.create_index("ix_web_jobs_kind_id", "web_jobs", ["kind", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_web_jobs_kind_id", table_name="web_jobs")
    op.drop_table("web_jobs")
