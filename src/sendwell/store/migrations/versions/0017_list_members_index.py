"""list members straight from an index: subscriptions (list_id, status, subscriber_id)

Revision ID: 0017
Revises: 0016

Segments, campaign audiences and list counts ask for the subscribers of one list in one
status. The index on (list_id, status) found those rows but then read each from the
table for its subscriber id, which over a million members took twice as long as
finding them. With the subscriber id in the index the answer comes from the
index alone (PostgreSQL: an index-only scan). The new index serves every query the old
one did, so it replaces it and imports still maintain one index, not two.
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_subscriptions_list_status_subscriber",
        "subscriptions",
        ["list_id", "status", "subscriber_id"],
    )
    op.drop_index("ix_subscriptions_list_status", table_name="subscriptions")


def downgrade() -> None:
    op.create_index("ix_subscriptions_list_status", "subscriptions", ["list_id", "status"])
    op.drop_index("ix_subscriptions_list_status_subscriber", table_name="subscriptions")
