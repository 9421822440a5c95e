"""Storage: SQLAlchemy Core tables, engine set-up and Alembic migrations.

SQLite (WAL mode) is the embedded default; PostgreSQL is used by URL. Hot paths use Core
statements, never ORM sessions.
"""
