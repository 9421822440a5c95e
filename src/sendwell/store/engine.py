"""Database engine set-up: SQLite pragmas, PostgreSQL URLs, connection errors translated.

SQLite runs in WAL mode so readers (status pages, the demo's progress bar) never block the
writer, with ``synchronous=NORMAL`` (durable across process crashes; a power loss may lose
the last transactions, which WAL keeps consistent) and a busy timeout so short write
contention between processes waits instead of failing. ``write_transaction`` is for work
that reads and then writes based on what it read (SQLite ``BEGIN IMMEDIATE``).

SQLite itself comes from ``pysqlite3`` when it is installed (the ``sqlite`` extra, for
Linux x86-64 with glibc: a current SQLite inside its wheel), else from Python's own
``sqlite3`` module, which links whatever SQLite the operating system has: 3.40 on Debian
12, from 2022. The module is the same code either way; a recent SQLite parses JSON about
a third faster (segments over custom attributes are JSON reads of every subscriber) and
plans better. ``sqlite_library()`` tells which one is in use. Nothing else in a process
may open the database through the other copy of SQLite: POSIX locks do not conflict
within one process, so the two copies would not see each other's locks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from sendwell.errors import StorageError


def sqlite_module() -> Any:
    """The DB-API module that opens SQLite databases: ``pysqlite3`` if installed, else
    the standard library's ``sqlite3``."""
    try:
        from pysqlite3 import dbapi2
    except ImportError:
        import sqlite3 as dbapi2
    return dbapi2


def sqlite_library() -> str:
    """Which SQLite is in use, for diagnostics: ``"3.51.1 (pysqlite3)"``."""
    module = sqlite_module()
    return f"{module.sqlite_version} ({module.__name__.partition('.')[0]})"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the write lock from its first statement, committed on
    success and rolled back on error.

    SQLite starts a plain transaction as a reader and takes the write lock at its first
    write, so what it read before (who exists, the largest id) may already be stale by
    then. ``BEGIN IMMEDIATE`` takes the lock up front (waiting up to the busy timeout
    when another process writes). PostgreSQL needs no such step: its row locks and
    unique constraints arbitrate concurrent writers.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def describe(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def create_db_engine(url: str, *, create_dirs: bool = True) -> Engine:
    """Create an engine for ``url`` and check that it connects.

    Raises :class:`StorageError` naming the database (password hidden) when the URL is
    malformed, the SQLite directory is missing, or the server cannot be reached.
    """
    try:
        parsed: URL = make_url(url)
    except ArgumentError:
        raise StorageError(f"database URL {url!r} is not a valid SQLAlchemy URL") from None
    shown = describe(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            folder = Path(db).parent
            if not folder.exists():
                if not create_dirs:
                    raise StorageError(f"data directory {folder} does not exist")
                folder.mkdir(parents=True, exist_ok=True)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, module=sqlite_module())
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except NoSuchModuleError:
        raise StorageError(
            f"database URL {shown}: unknown database kind {parsed.get_backend_name()!r}"
        ) from None
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StorageError(f"cannot connect to database {shown}: {reason}") from None
    except ModuleNotFoundError as exc:
        raise StorageError(f"database {shown} needs the driver {exc.name!r}") from None
    return engine


def insert_for(conn: Connection) -> Any:
    """The dialect's ``insert`` (it has ``on_conflict_do_nothing``)."""
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
