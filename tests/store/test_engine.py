"""Engine helpers: the write transaction that holds SQLite's lock from its start."""

from __future__ import annotations

import platform
import sys

import pytest
from sqlalchemy import Engine, func, insert, select

from sendwell.clock import FrozenClock
from sendwell.store.engine import sqlite_library, sqlite_module, write_transaction
from sendwell.store.schema import lists


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(lists)).scalar_one())


def _add_then_fail(engine: Engine, row: dict[str, object]) -> None:
    with write_transaction(engine) as conn:
        conn.execute(insert(lists).values(**row))
        raise RuntimeError("boom")


def test_write_transaction_commits_or_rolls_back(engine: Engine, clock: FrozenClock) -> None:
    row = {"name": "a", "description": "", "optin": "single", "created_at": clock.now()}
    with write_transaction(engine) as conn:
        conn.execute(insert(lists).values(**row))
    assert _count(engine) == 1
    with pytest.raises(RuntimeError, match="boom"):
        _add_then_fail(engine, {**row, "name": "b"})
    assert _count(engine) == 1


def test_sqlite_write_transaction_holds_the_lock_before_its_first_write(
    sqlite_engine: Engine,
) -> None:
    path = sqlite_engine.url.database
    assert path is not None
    with write_transaction(sqlite_engine) as conn:
        conn.execute(select(func.count()).select_from(lists))  # a read only, so far
        # The same SQLite library as the engine's: POSIX locks do not conflict within one
        # process, so a second copy of SQLite would not see the first one's lock.
        module = sqlite_module()
        other = module.connect(path, timeout=0)
        try:
            with pytest.raises(module.OperationalError, match="locked"):
                other.execute(
                    "INSERT INTO lists (name, description, optin, created_at) "
                    "VALUES ('x', '', 'single', '2026-01-01 00:00:00')"
                )
        finally:
            other.close()


def test_sqlite_databases_open_with_the_chosen_module(sqlite_engine: Engine) -> None:
    module = sqlite_module()
    assert sqlite_engine.dialect.dbapi is module
    with sqlite_engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT sqlite_version()").scalar_one()
    assert version == module.sqlite_version
    assert sqlite_library() == f"{version} ({module.__name__.partition('.')[0]})"


@pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64"),
    reason="the sqlite extra (pysqlite3-binary) has wheels for Linux x86-64 only",
)
def test_a_current_sqlite_is_used_where_the_sqlite_extra_installs() -> None:
    # JSON parsing got markedly faster in 3.45 (segments read attributes as JSON).
    assert sqlite_module().__name__ == "pysqlite3.dbapi2", "install the sqlite extra (make does)"
    assert sqlite_module().sqlite_version_info >= (3, 45)
