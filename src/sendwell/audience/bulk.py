"""Fast bulk statements for imports, on SQLite and PostgreSQL.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert work at
import volumes (a million rows), so rows are written with the DBAPI ``executemany`` of a
statement that SQLAlchemy compiles once: values are bound parameters, never SQL text,
and constant values (the import's timestamp) are run through the column type's bind
processor once instead of per row. Rows may come as any iterable of tuples, so callers
build them with ``zip`` over whole columns instead of a Python loop per row.
``in_values`` passes a whole batch of keys as one parameter (SQLite ``json_each``,
PostgreSQL ``= ANY(array)``) instead of thousands of expanded placeholders;
``allocate_ids`` hands out primary keys up front so inserted rows need no second look-up.

Limit: callers supply values already in the form the driver takes (JSON columns as text).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Dialect,
    String,
    Table,
    any_,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def in_values(
    conn: Connection, column: Any, values: Sequence[str] | Sequence[int]
) -> ColumnElement[bool]:
    """``column IN (values)`` with the values as a single bound parameter."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(String)))  # type: ignore[no-any-return]
    rows = func.json_each(bindparam(None, json.dumps(list(values)), type_=String)).table_valued(
        "value"
    )
    return column.in_(select(rows.c.value))  # type: ignore[no-any-return]


def ids_condition(conn: Connection, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN ids`` for integer keys: a ``range`` (what :func:`allocate_ids` gives on
    SQLite) as one ``BETWEEN``, anything else as a single bound parameter."""
    if isinstance(ids, range) and ids.step == 1 and len(ids):
        return column.between(ids.start, ids.stop - 1)  # type: ignore[no-any-return]
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))  # type: ignore[no-any-return]
    return in_values(conn, column, ids)


def keys_table(conn: Connection, values: Sequence[str]) -> Any:
    """The strings ``values`` as a one-column table (column ``value``), for joins.

    Joining a table's indexed column to this makes the database walk the keys and probe
    the index once per key, whatever the table's size: ``column IN (SELECT ...)`` lets
    SQLite choose to scan the table instead (it did, twice, for suppressions, whose
    conditions on the list and the expiry are an OR), and builds a temporary index of
    the keys first (about three times slower for a 20,000-key batch)."""
    if conn.dialect.name == "postgresql":
        keys = bindparam(None, list(values), type_=ARRAY(String))
        return func.unnest(keys).table_valued("value").render_derived()
    return func.json_each(bindparam(None, json.dumps(list(values)), type_=String)).table_valued(
        "value"
    )


def bind_constant(conn: Connection, table: Table, column: str, value: Any) -> Any:
    """``value`` as the driver receives it for ``table.column``."""
    proc = bind_processor(conn, table, column)
    return proc(value) if proc is not None else value


def bind_processor(conn: Connection, table: Table, column: str) -> Any:
    """The function turning a Python value into the driver's value for a column (or None)."""
    type_ = table.c[column].type
    return type_.dialect_impl(conn.dialect).bind_processor(conn.dialect)


def allocate_ids(conn: Connection, table: Table, n: int) -> Sequence[int]:
    """``n`` primary keys for new rows of ``table`` (its ``id`` column).

    SQLite: the ``n`` ids after the largest one, which are the ids SQLite itself would
    give; the caller must hold the write lock (``BEGIN IMMEDIATE``) until the rows are
    inserted, or another writer could take them. PostgreSQL: drawn from the column's
    sequence, so concurrent writers never collide."""
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, "id")
        drawn = select(func.nextval(sequence)).select_from(func.generate_series(1, n))
        return [int(i) for i in conn.execute(drawn).scalars()]
    largest = conn.execute(select(func.max(table.c.id))).scalar()
    start = int(largest or 0) + 1
    return range(start, start + n)


def insert_many(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    skip_conflicts: bool = False,
) -> int:
    """DBAPI executemany of an INSERT of ``columns`` (rows are tuples in that order);
    returns the number of rows given.

    ``skip_conflicts`` adds ``ON CONFLICT DO NOTHING`` (rows colliding with a unique key
    are left as they are)."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return 0
    sql, order = _insert_sql(conn.dialect, table, tuple(columns), skip_conflicts)
    params: list[Any]
    if order is None:  # named parameters
        params = [dict(zip(columns, r, strict=True)) for r in rows]
    elif order == tuple(range(len(columns))):
        params = rows
    else:
        params = [tuple(r[i] for i in order) for r in rows]
    conn.exec_driver_sql(sql, params)
    return len(rows)


@functools.lru_cache(maxsize=64)
def _insert_sql(
    dialect: Dialect, table: Table, columns: tuple[str, ...], skip_conflicts: bool
) -> tuple[str, tuple[int, ...] | None]:
    """The INSERT's SQL text and, for positional drivers, which column each placeholder
    takes; compiled once (callers writing small batches often would otherwise spend more
    time compiling than writing)."""
    stmt: Any = (
        (pg_insert if dialect.name == "postgresql" else sqlite_insert)(table)
        .values({c: bindparam(c) for c in columns})
        .inline()
    )
    if skip_conflicts:
        stmt = stmt.on_conflict_do_nothing()
    compiled = stmt.compile(dialect=dialect)
    if not compiled.positional:
        return str(compiled), None
    index = {c: i for i, c in enumerate(columns)}
    return str(compiled), tuple(index[name] for name in compiled.positiontup or ())


def fetch_raw(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
    """Rows of a SELECT as plain DBAPI tuples, without SQLAlchemy's per-row result
    processing (only for columns whose driver values are what the caller wants: ids,
    text). Parameters are passed as bound values, never rendered into the SQL."""
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    args: Any
    if compiled.positional:
        args = tuple(params[name] for name in compiled.positiontup or ())
    else:
        args = params
    result = conn.exec_driver_sql(str(compiled), args)
    return list(result.cursor.fetchall()) if result.cursor is not None else []
