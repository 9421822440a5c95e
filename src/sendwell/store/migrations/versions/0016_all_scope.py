"""API tokens made with scope "all" keep every scope, present and future

Revision ID: 0016
Revises: 0011, 0012, 0013

Until now ``all`` was expanded into the scopes that existed when a token was made, so such
a token lost access to every area added later (``templates``). ``all`` is now stored as
itself. A token holding exactly the twenty scopes that existed before — what ``all``
produced — is rewritten to ``all``; tokens with a hand-picked set are left alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = ("0011", "0012", "0013")
branch_labels = None
depends_on = None

# Frozen here: the scopes ``all`` expanded to before this revision.
_AREAS = (
    "lists", "subscribers", "suppressions", "campaigns", "segments", "verification",
    "reports", "domains", "settings", "users",
)  # fmt: skip
_EXPANDED = frozenset(f"{area}:{mode}" for area in _AREAS for mode in ("read", "write"))

_tokens = sa.table("api_tokens", sa.column("id", sa.BigInteger), sa.column("scopes", sa.Text))


def upgrade() -> None:
    conn = op.get_bind()
    for token_id, scopes in conn.execute(sa.select(_tokens.c.id, _tokens.c.scopes)).all():
        if frozenset(scopes.split()) == _EXPANDED:
            conn.execute(sa.update(_tokens).where(_tokens.c.id == token_id).values(scopes="all"))


def downgrade() -> None:
    conn = op.get_bind()
    expanded = " ".join(sorted(_EXPANDED))
    conn.execute(sa.update(_tokens).where(_tokens.c.scopes == "all").values(scopes=expanded))
