"""Storage: migrations create exactly the declared schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select, text

from sendwell.audience.segments import compile_segment
from sendwell.clock import FrozenClock
from sendwell.errors import StorageError
from sendwell.store.engine import create_db_engine
from sendwell.store.migrate import MIGRATIONS, current_revisions, head_revisions, upgrade
from sendwell.store.schema import lists, metadata, subscribers
from sendwell.store.schema_audience import audience_imports, consent_events


def test_migrated_database_matches_metadata(engine: Engine) -> None:
    assert current_revisions(engine) == head_revisions()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    assert current_revisions(engine) == head_revisions()


def test_datetimes_round_trip_as_aware_utc(engine: Engine) -> None:
    local = datetime(2026, 11, 2, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=1)))
    with engine.begin() as conn:
        conn.execute(
            insert(lists).values(name="l", description="", optin="single", created_at=local)
        )
        stored = conn.execute(select(lists.c.created_at)).scalar_one()
    assert stored == local
    assert stored.tzinfo == UTC


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="aware datetime"), engine.begin() as conn:
        conn.execute(
            insert(lists).values(
                name="l", description="", optin="single", created_at=datetime(2026, 1, 1)
            )
        )


def test_sqlite_runs_in_wal_mode(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_sqlite_creates_a_missing_directory_when_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'dir' / 'x.db'}"
    create_db_engine(url).dispose()
    assert (tmp_path / "new" / "dir").is_dir()
    with pytest.raises(StorageError, match="does not exist"):
        create_db_engine(f"sqlite:///{tmp_path / 'absent' / 'x.db'}", create_dirs=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a valid SQLAlchemy URL"),
        ("postgresql+psycopg://nobody:secretpw@127.0.0.1:1/db", "cannot connect to database"),
        ("nosuchdb://x/y", "unknown database kind .nosuchdb."),
    ],
)
def test_unusable_database_urls_are_one_line_errors(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message) as info:
        create_db_engine(url)
    assert "\n" not in str(info.value)
    assert "secretpw" not in str(info.value)


def test_0013_downgrade_copies_shared_import_evidence_back_into_each_entry(
    engine: Engine, clock: FrozenClock
) -> None:
    now = clock.now()
    with engine.begin() as conn:
        list_id = conn.execute(
            insert(lists).values(name="l", description="", optin="single", created_at=now)
        ).inserted_primary_key[0]  # type: ignore[index]
        import_id = conn.execute(
            insert(audience_imports).values(
                list_id=list_id,
                file_name="people.csv",
                lawful_basis="soft_opt_in",
                wording="Yes please",
                wording_version="v1",
                mode="upsert",
                state="finished",
                last_line=2,
                added=1,
                updated=0,
                skipped=0,
                rejected=0,
                started_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(
            insert(consent_events),
            [
                {"at": now, "email_hash": "a" * 64, "action": "import", "source": "import",
                 "source_ref": "", "import_id": import_id},
                {"at": now, "email_hash": "b" * 64, "action": "import", "source": "import",
                 "source_ref": "shop", "import_id": import_id},
            ],
        )  # fmt: skip
    _downgrade(engine, "0010")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT source_ref, wording, wording_version, method, lawful_basis "
                "FROM consent_events ORDER BY email_hash"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (f"import:{import_id} people.csv", "Yes please", "v1", "import", "soft_opt_in"),
        ("shop", "Yes please", "v1", "import", "soft_opt_in"),
    ]
    upgrade(engine)
    assert current_revisions(engine) == head_revisions()


def test_list_members_come_from_the_index_alone(sqlite_engine: Engine, clock: FrozenClock) -> None:
    """Migration 0017: a list's members in one status are read without the table rows."""
    cond = compile_segment({"list": 1}, now=clock.now())
    query = select(subscribers.c.id).where(cond)
    assert "COVERING INDEX ix_subscriptions_list_status_subscriber" in _plan(sqlite_engine, query)


def test_0017_downgrades_to_the_list_status_index(engine: Engine) -> None:
    _downgrade(engine, "0016")
    names = _index_names(engine, "subscriptions")
    assert "ix_subscriptions_list_status" in names
    assert "ix_subscriptions_list_status_subscriber" not in names
    upgrade(engine)
    assert current_revisions(engine) == head_revisions()


def test_leases_walk_the_pending_index_without_sorting(sqlite_engine: Engine) -> None:
    """Migration 0018: a lease reads pending rows in lease order, never sorting them all."""
    from sendwell.delivery.outbox import _SQLITE_PICK

    now = datetime(2026, 11, 2, tzinfo=UTC)
    plan = _plan(sqlite_engine, _SQLITE_PICK.bindparams(now=now, limit=1000))
    assert "USING INDEX ix_outbox_pending" in plan
    assert "TEMP B-TREE" not in plan


def test_0018_downgrades_without_the_pending_index(engine: Engine) -> None:
    _downgrade(engine, "0017")
    names = _index_names(engine, "outbox")
    assert "ix_outbox_pending" not in names and "ix_outbox_due" in names
    upgrade(engine)
    assert "ix_outbox_pending" in _index_names(engine, "outbox")
    assert current_revisions(engine) == head_revisions()


def _downgrade(engine: Engine, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    command.downgrade(cfg, revision)


def _index_names(engine: Engine, table: str) -> set[str]:
    with engine.connect() as conn:
        return {str(i["name"]) for i in inspect(conn).get_indexes(table)}


def _plan(engine: Engine, query: Any) -> str:
    """SQLite's query plan for ``query``, its steps joined by spaces."""
    with engine.connect() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        return " ".join(str(r[3]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
