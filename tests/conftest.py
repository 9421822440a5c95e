"""Shared fixtures: databases (SQLite always, PostgreSQL where it runs) and a frozen clock.

PostgreSQL tests use ``PG_TEST_URL`` (default: the CI server at 127.0.0.1:5432, database
``test``). Where no server answers they skip with that reason — except when
``CI=true`` or ``REQUIRE_TEST_SERVICES`` is set (as in CI), where they fail instead, so a CI
machine without PostgreSQL cannot pass silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import Engine, create_engine, text

from sendwell.clock import FrozenClock
from sendwell.content.spamd import SpamdClient
from sendwell.store.engine import create_db_engine
from sendwell.store.migrate import upgrade

PG_URL = os.environ.get("PG_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = bool(os.environ.get("REQUIRE_TEST_SERVICES")) or os.environ.get("CI") == "true"


def _postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means "not available here"
        return f"PostgreSQL not reachable at {PG_URL}: {str(exc).splitlines()[0]}"
    return None


_PG_PROBLEM: str | bool | None = False


def postgres_problem() -> str | None:
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _postgres_available()
    return _PG_PROBLEM  # type: ignore[return-value]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


def _fresh_postgres_schema() -> Iterator[str]:
    """A private schema per test so parallel tests do not see each other's rows."""
    problem = postgres_problem()
    if problem:
        if REQUIRE_PG:
            pytest.fail(f"CI requires PostgreSQL: {problem}")
        pytest.skip(problem)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL: a fresh SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sendwell.db'}"
    else:
        yield from _fresh_postgres_schema()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database on each backend."""
    eng = create_db_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_db_engine(f"sqlite:///{tmp_path / 'sendwell.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = REQUIRE_PG  # CI has both services


@pytest.fixture
def redis_url() -> str:
    """A reachable Redis server (its keys are namespaced per test by the caller)."""
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:  # any failure means "not available here"
        problem = f"Redis not reachable at {REDIS_URL}: {str(exc).splitlines()[0]}"
        if REQUIRE_REDIS:
            pytest.fail(f"CI requires Redis: {problem}")
        pytest.skip(problem)
    return REDIS_URL


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL schema (skips, or fails in CI, without a server)."""
    yield from _fresh_postgres_schema()


def require_tool(reason: str) -> NoReturn:
    """A tool a test needs is missing: skip with the reason — but fail in CI, where the
    Makefile installs every tool, so a broken install cannot pass as a skip."""
    if REQUIRE_PG:
        pytest.fail(f"CI requires it: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpamdClient]:
    """A real SpamAssassin spamd on a free loopback port, offline (one per test process:
    loading the rules takes seconds). Skips without spamd — fails in CI."""
    from tests.spamd_server import running_spamd

    with running_spamd(tmp_path_factory.mktemp("spamd")) as client:
        yield client
