"""import speed: no index on subscribers.email_hash; import consent entries share evidence

Revision ID: 0013
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Random keys: each import batch rewrote most of this index's pages. Every look-up
    # now goes by address, and joins probe the hash indexes of the other tables.
    op.drop_index("ix_subscribers_email_hash", table_name="subscribers")
    with op.batch_alter_table("audience_imports") as batch:
        batch.add_column(sa.Column("wording", sa.Text(), nullable=True))
        batch.add_column(sa.Column("wording_version", sa.String(length=50), nullable=True))
    # Earlier import entries keep their evidence in their own columns (import_id NULL).
    with op.batch_alter_table("consent_events") as batch:
        batch.add_column(sa.Column("import_id", _ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_consent_events_import_id_audience_imports"),
            "audience_imports",
            ["import_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    # Copy the shared evidence back into each import entry before the link goes.
    op.execute(
        "UPDATE consent_events SET "
        "wording = (SELECT wording FROM audience_imports a WHERE a.id = import_id), "
        "wording_version = (SELECT wording_version FROM audience_imports a "
        "WHERE a.id = import_id), "
        "lawful_basis = (SELECT lawful_basis FROM audience_imports a WHERE a.id = import_id), "
        "method = 'import', "
        "source_ref = CASE WHEN source_ref = '' THEN substr('import:' || import_id || ' ' || "
        "(SELECT file_name FROM audience_imports a WHERE a.id = import_id), 1, 200) "
        "ELSE source_ref END "
        "WHERE import_id IS NOT NULL"
    )
    with op.batch_alter_table("consent_events") as batch:
        batch.drop_constraint(
            op.f("fk_consent_events_import_id_audience_imports"), type_="foreignkey"
        )
        batch.drop_column("import_id")
    with op.batch_alter_table("audience_imports") as batch:
        batch.drop_column("wording_version")
        batch.drop_column("wording")
    op.create_index("ix_subscribers_email_hash", "subscribers", ["email_hash"])
