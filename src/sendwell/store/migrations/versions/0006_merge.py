"""merge the delivery, verification, feedback and content branches

Revision ID: 0006
Revises: 0002, 0003, 0004, 0005
"""

from __future__ import annotations

revision = "0006"
down_revision = ("0002", "0003", "0004", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
