"""Run Alembic migrations programmatically (``sendwell init`` and every start-up).

The migration scripts ship inside the package, so an installed sendwell can migrate its
database without an ``alembic.ini`` in the working directory.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from sendwell.errors import StorageError

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revisions() -> set[str]:
    """Every head of the migration graph (one once branches are merged)."""
    return set(ScriptDirectory.from_config(_config_without_engine()).get_heads())


def _config_without_engine() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema; a no-op when it is already there."""
    if current_revisions(engine) == head_revisions():
        return
    try:
        command.upgrade(_config(engine), "heads")
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StorageError(f"database migration failed: {reason}") from None
