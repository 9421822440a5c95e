"""API tokens: ``all`` is stored as itself and covers areas added later; tokens made with
``all`` before that (stored expanded) are rewritten by migration 0016."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, insert, select

from sendwell.accounts.tokens import SCOPES, check_token, create_token, parse_scopes
from sendwell.clock import FrozenClock
from sendwell.store.engine import create_db_engine
from sendwell.store.migrate import _config, upgrade
from sendwell.store.schema_web import api_tokens

OLD_AREAS = ("lists", "subscribers", "suppressions", "campaigns", "segments", "verification",
             "reports", "domains", "settings", "users")  # fmt: skip
OLD_EXPANDED = " ".join(f"{a}:{m}" for a in OLD_AREAS for m in ("read", "write"))
NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_all_is_stored_as_itself_and_allows_every_scope(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        token, secret = create_token(conn, "ci", ["all", "lists:read"], now=clock.now())
        stored = conn.execute(select(api_tokens.c.scopes)).scalar_one()
        found = check_token(conn, secret, now=clock.now())
    assert stored == "all"
    assert token.scopes == {"all"}
    assert found is not None
    assert all(found.allows(scope) for scope in SCOPES)
    assert found.allows("templates:write")
    assert found.allows("an-area-added-next-year:write")


def test_write_implies_read_of_the_same_area_only(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        token, _ = create_token(conn, "t", ["templates:write"], now=clock.now())
    assert token.allows("templates:read") and token.allows("templates:write")
    assert not token.allows("campaigns:read")
    assert parse_scopes(["templates:read, lists:read"]) == ["templates:read", "lists:read"]


def test_migration_turns_expanded_all_tokens_into_all(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        command.upgrade(_config(engine), "0011")
        command.upgrade(_config(engine), "0012")
        with engine.begin() as conn:
            for name, scopes in (("was-all", OLD_EXPANDED), ("picked", "lists:read"),
                                 ("most", OLD_EXPANDED.replace(" users:write", ""))):  # fmt: skip
                conn.execute(
                    insert(api_tokens).values(
                        name=name, token_hash=name.ljust(64, "0"), scopes=scopes,
                        created_at=NOW,
                    )
                )  # fmt: skip
        upgrade(engine)
        with engine.connect() as conn:
            rows = dict(conn.execute(select(api_tokens.c.name, api_tokens.c.scopes)).all())
    finally:
        engine.dispose()
    assert rows["was-all"] == "all"
    assert rows["picked"] == "lists:read"
    assert rows["most"] == OLD_EXPANDED.replace(" users:write", "")
