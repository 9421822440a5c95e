"""Engine helpers: the write transaction that holds SQLite's lock from its start."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import Engine, func, insert, select

from sendwell.clock import FrozenClock
from sendwell.store.engine import write_transaction
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
        other = sqlite3.connect(path, timeout=0)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute(
                    "INSERT INTO lists (name, description, optin, created_at) "
                    "VALUES ('x', '', 'single', '2026-01-01 00:00:00')"
                )
        finally:
            other.close()
