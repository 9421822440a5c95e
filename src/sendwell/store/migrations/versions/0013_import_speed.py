"""import speed: no index on subscribers.email_hash

Revision ID: 0013
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Random keys: each import batch rewrote most of this index's pages. Every look-up
    # now goes by address, and joins probe the hash indexes of the other tables.
    op.drop_index("ix_subscribers_email_hash", table_name="subscribers")


def downgrade() -> None:
    op.create_index("ix_subscribers_email_hash", "subscribers", ["email_hash"])
