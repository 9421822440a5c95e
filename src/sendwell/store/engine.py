"""Database engine set-up: SQLite pragmas, PostgreSQL URLs, connection errors translated.

SQLite runs in WAL mode so readers (status pages, the demo's progress bar) never block the
writer, with ``synchronous=NORMAL`` (durable across process crashes; a power loss may lose
the last transactions, which WAL keeps consistent) and a busy timeout so short write
contention between processes waits instead of failing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from sendwell.errors import StorageError


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


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
            engine = create_engine(parsed)
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
