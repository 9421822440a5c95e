"""Segments: a small JSON filter language compiled to SQLAlchemy conditions.

Users never write SQL. A segment is a JSON object; every value reaches the database as a
bound parameter, and attribute names are checked against a strict pattern. The grammar::

    {"all": [F, ...]}   {"any": [F, ...]}   {"not": F}
    {"attr": NAME, "op": OP, "value": V}     OP: = != < > contains in exists
    {"field": "email|domain|first_name|last_name", "op": OP, "value": V}
    {"list": LIST_ID}                        confirmed member of that list
    {"list": LIST_ID, "status": "unconfirmed|confirmed|unsubscribed"}
    {"subscribed": {"list": ID?, "after": ISO?, "before": ISO?, "within_days": N?}}
    {"opened_within_days": N}   {"clicked_within_days": N}   {"never_opened": true}
    {"received_campaign": ID}   {"not_received_campaign": ID}

The result is a condition on ``subscribers`` (one row per person, so recipients on several
lists are counted once). Engagement comes from ``events`` (kinds ``open``/``click``);
"received" means an outbox row of that campaign was delivered.

Semantics chosen where the issue is silent: ``!=`` matches people without the attribute
too; ``contains`` is case-insensitive; ``<``/``>`` with a number compare numerically and
ignore non-numeric values, with a string compare as text (ISO dates sort correctly).
A comparison is plainly true or false, never SQL's "unknown": someone without the
attribute does not match ``{"attr": "plan", "op": "=", "value": "pro"}`` and does match
its ``not`` — and so stays in a campaign that excludes a segment of ``plan = pro``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    String,
    and_,
    cast,
    false,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.visitors import InternalTraversal

from sendwell.errors import ConflictError, InvalidInput, NotFound
from sendwell.store.schema import events, outbox, subscribers, subscriptions
from sendwell.store.schema_audience import segments

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_NUMERIC = r"^-?[0-9]+(\.[0-9]+)?$"


class _AsNumber(ColumnElement[float]):
    """A text value as a number, or NULL when it is not a plain decimal number (so the
    cast cannot fail and ``<``/``>`` skip such values).

    PostgreSQL gets a regular expression; SQLite has none built in (SQLAlchemy's REGEXP
    calls back into Python per row, too slow over a million rows), so it gets GLOBs:
    only digits, dots and minus signs, and at least one digit. On SQLite the value is
    computed once, in a one-row subquery, instead of once per GLOB and again for the
    cast: extracting an attribute from the JSON text is most of the cost, and this makes
    a numeric condition over a million subscribers about a third cheaper.

    The four GLOBs are function calls and cost more than the rest of the test together,
    so whole numbers (ages, counts, scores: the usual case) are recognised first by two
    casts and a comparison, which are plain bytecode: text that reads back unchanged
    through an integer is a canonical integer, which the GLOBs would accept too. Any
    other text still goes through the GLOBs, so the result is the same.
    """

    inherit_cache = True
    type = Float()
    _traverse_internals = [("value", InternalTraversal.dp_clauseelement)]

    def __init__(self, value: Any) -> None:
        self.value = value


@compiles(_AsNumber)
def _number_default(element: _AsNumber, compiler: Any, **kw: Any) -> str:
    value = compiler.process(element.value, **kw)
    pattern = compiler.process(literal(_NUMERIC), **kw)
    return f"CASE WHEN ({value} ~ {pattern}) THEN CAST({value} AS FLOAT) END"


@compiles(_AsNumber, "sqlite")
def _number_sqlite(element: _AsNumber, compiler: Any, **kw: Any) -> str:
    value = compiler.process(element.value, **kw)
    return (
        "(SELECT CASE WHEN CAST(CAST(v AS INTEGER) AS TEXT) = v "
        "OR (v NOT GLOB '*[^0-9.-]*' AND v GLOB '*[0-9]*' "
        "AND v NOT GLOB '?*-*' AND v NOT GLOB '*.*.*') THEN CAST(v AS REAL) END "
        f"FROM (SELECT {value} AS v))"
    )


_FIELDS = {
    "email": subscribers.c.email,
    "domain": subscribers.c.domain,
    "first_name": subscribers.c.first_name,
    "last_name": subscribers.c.last_name,
}
_OPS = ("=", "!=", "<", ">", "contains", "in", "exists")
_STATUSES = ("unconfirmed", "confirmed", "unsubscribed")
MAX_DEPTH = 20


def _int(value: Any, what: str) -> int:
    # The upper bound keeps values inside a 64-bit column, where a database driver would
    # otherwise fail with an overflow instead of a message.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InvalidInput(f"{what} must be a non-negative whole number, not {value!r}")
    return value


MAX_DAYS = 36500  # a century: longer windows mean "ever" and overflow date arithmetic


def _days(value: Any, what: str) -> int:
    days = _int(value, what)
    if days > MAX_DAYS:
        raise InvalidInput(f"{what} is at most {MAX_DAYS} days, not {days}")
    return days


def _when(value: Any, what: str) -> datetime:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{what} must be an ISO date, not {value!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def _compare(column: Any, op: str, value: Any, *, json: bool) -> ColumnElement[bool]:
    """``column OP value``, true or false (a missing value makes it false, not NULL)."""
    return func.coalesce(_sql_compare(column, op, value, json=json), false())


def _sql_compare(column: Any, op: str, value: Any, *, json: bool) -> ColumnElement[bool]:
    text = cast(column, String) if json else column
    if op == "exists":
        return text.is_not(None) if value in (True, None) else text.is_(None)
    if op == "in":
        if not isinstance(value, list) or not value:
            raise InvalidInput("'in' needs a non-empty list of values")
        return text.in_([str(v) for v in value])
    if isinstance(value, (list, dict)) or value is None:
        raise InvalidInput(f"operator {op!r} needs a single value, not {value!r}")
    if op == "contains":
        return func.lower(text).contains(str(value).lower(), autoescape=True)
    if op in ("<", ">") and isinstance(value, (int, float)) and not isinstance(value, bool):
        number = _AsNumber(text)
        try:
            bound = float(value)  # a huge int would overflow the driver's integer binding
        except OverflowError:
            raise InvalidInput(f"{value!r} is too large a number to compare with") from None
        return number < bound if op == "<" else number > bound
    if op == "<":
        return text < str(value)
    if op == ">":
        return text > str(value)
    if op == "=":
        return text == str(value)
    if op == "!=":
        return or_(text.is_(None), text != str(value))
    raise InvalidInput(f"unknown operator {op!r}; use one of {', '.join(_OPS)}")


def _having(column: Any, cond: ColumnElement[bool]) -> ColumnElement[bool]:
    """``subscribers.id IN (SELECT column ... WHERE cond)``: an uncorrelated subquery,
    which SQLite runs once (an EXISTS per subscriber is ~40% slower over a million rows).
    NULL ids are filtered out so that ``NOT`` of this stays correct."""
    return subscribers.c.id.in_(select(column).where(and_(column.is_not(None), cond)))


def _engaged(kind: str, since: datetime | None) -> ColumnElement[bool]:
    cond: ColumnElement[bool] = events.c.kind == kind
    if since is not None:
        cond = and_(cond, events.c.at >= since)
    return _having(events.c.subscriber_id, cond)


def engaged_since(since: datetime) -> ColumnElement[bool]:
    """An open or click by the subscriber at or after ``since`` (the sunset rule's test)."""
    return _having(
        events.c.subscriber_id, and_(events.c.kind.in_(("open", "click")), events.c.at >= since)
    )


def _list_term(d: dict[str, Any]) -> tuple[int, str]:
    """(list id, subscription status) of a ``{"list": ID, "status": S?}`` filter."""
    status = d.get("status", "confirmed")
    if status not in _STATUSES:
        raise InvalidInput(f"subscription status must be one of {', '.join(_STATUSES)}")
    return _int(d["list"], "list"), status


def compile_segment(definition: Any, *, now: datetime, _depth: int = 0) -> ColumnElement[bool]:
    """The SQL condition on ``subscribers`` for a definition; InvalidInput when malformed."""
    if _depth > MAX_DEPTH:
        raise InvalidInput("segment is nested too deeply")
    if not isinstance(definition, dict) or len(definition) == 0:
        raise InvalidInput(f"a segment filter is a JSON object, not {definition!r}")
    d = definition
    sub = _depth + 1
    if "all" in d or "any" in d:
        items = d.get("all", d.get("any"))
        if not isinstance(items, list) or len(d) != 1:
            raise InvalidInput("'all'/'any' take a list of filters and nothing else")
        parts = [compile_segment(i, now=now, _depth=sub) for i in items]
        if not parts:
            return true()
        return and_(*parts) if "all" in d else or_(*parts)
    if "not" in d:
        return not_(compile_segment(d["not"], now=now, _depth=sub))
    if "attr" in d or "field" in d:
        op = d.get("op", "=")
        if op not in _OPS:
            raise InvalidInput(f"unknown operator {op!r}; use one of {', '.join(_OPS)}")
        if "attr" in d:
            name = d["attr"]
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise InvalidInput(f"bad attribute name {name!r}")
            column: Any = subscribers.c.attributes[name].as_string()
            return _compare(column, op, d.get("value"), json=True)
        field = d["field"]
        if field not in _FIELDS:
            raise InvalidInput(f"unknown field {field!r}; use one of {', '.join(_FIELDS)}")
        return _compare(_FIELDS[field], op, d.get("value"), json=False)
    if "list" in d:
        list_id, status = _list_term(d)
        return _having(
            subscriptions.c.subscriber_id,
            and_(subscriptions.c.list_id == list_id, subscriptions.c.status == status),
        )
    if "subscribed" in d:
        spec = d["subscribed"]
        if not isinstance(spec, dict):
            raise InvalidInput("'subscribed' takes an object: list, after, before, within_days")
        cond: ColumnElement[bool] = subscriptions.c.status == "confirmed"
        for key, value in spec.items():
            if key == "list":
                cond = and_(cond, subscriptions.c.list_id == _int(value, "list"))
            elif key == "after":
                cond = and_(cond, subscriptions.c.created_at >= _when(value, "after"))
            elif key == "before":
                cond = and_(cond, subscriptions.c.created_at < _when(value, "before"))
            elif key == "within_days":
                since = now - timedelta(days=_days(value, "within_days"))
                cond = and_(cond, subscriptions.c.created_at >= since)
            else:
                raise InvalidInput(f"unknown key {key!r} in 'subscribed'")
        return _having(subscriptions.c.subscriber_id, cond)
    if "opened_within_days" in d:
        days = _days(d["opened_within_days"], "opened_within_days")
        return _engaged("open", now - timedelta(days=days))
    if "clicked_within_days" in d:
        days = _days(d["clicked_within_days"], "clicked_within_days")
        return _engaged("click", now - timedelta(days=days))
    if "never_opened" in d:
        never = not_(_engaged("open", None))
        return never if d["never_opened"] is not False else not_(never)
    for key in ("received_campaign", "not_received_campaign"):
        if key in d:
            got = _having(
                outbox.c.subscriber_id,
                and_(outbox.c.campaign_id == _int(d[key], key), outbox.c.status == "delivered"),
            )
            return got if key == "received_campaign" else not_(got)
    raise InvalidInput(f"unknown segment filter {sorted(d)!r}")


_LIST_KEYS = frozenset(("list", "status"))


def _from_list(definition: Any, *, now: datetime) -> tuple[FromClause, ColumnElement[bool]]:
    """What to read and the condition on each row, for reading every match.

    A list filter at the top of a definition (the whole of it, or an item of its
    ``all``) becomes a join from that list's members instead of an ``IN`` condition. A
    person is in a list at most once (the key of ``subscriptions``), so the join finds
    the same people, and the database walks the list's index straight into
    ``subscribers`` instead of first collecting a million ids into a temporary index.
    """
    items = [definition]
    if isinstance(definition, dict) and list(definition) == ["all"]:
        items = definition["all"] if isinstance(definition["all"], list) else items
    for i, item in enumerate(items):
        # Only a pure list filter: compile_segment reads a dict that also has other keys
        # as another kind of filter.
        if isinstance(item, dict) and "list" in item and set(item) <= _LIST_KEYS:
            list_id, status = _list_term(item)
            members = subscribers.join(
                subscriptions,
                and_(
                    subscriptions.c.subscriber_id == subscribers.c.id,
                    subscriptions.c.list_id == list_id,
                    subscriptions.c.status == status,
                ),
            )
            return members, compile_segment({"all": items[:i] + items[i + 1 :]}, now=now)
    return subscribers, compile_segment(definition, now=now)


def count_matching(conn: Connection, definition: Any, *, now: datetime) -> int:
    """Live count of active subscribers a definition matches."""
    source, cond = _from_list(definition, now=now)
    return int(
        conn.execute(
            select(func.count())
            .select_from(source)
            .where(and_(subscribers.c.status == "active", cond))
        ).scalar_one()
    )


def create_segment(conn: Connection, name: str, definition: Any, *, now: datetime) -> int:
    """Save a segment (validated by compiling it); returns its id."""
    name = name.strip()
    if not name:
        raise InvalidInput("a segment needs a name")
    compile_segment(definition, now=now)
    try:
        with conn.begin_nested():
            new_id = conn.execute(
                insert(segments).values(name=name, definition=definition, created_at=now)
            ).inserted_primary_key[0]  # type: ignore[index]
    except IntegrityError:
        raise ConflictError(f"a segment named {name!r} already exists") from None
    return int(new_id)


def update_segment(
    conn: Connection,
    segment_id: int,
    *,
    name: str | None = None,
    definition: Any = None,
    now: datetime,
) -> None:
    """Rename a segment and/or replace its filter (validated by compiling it).

    A campaign that targets the segment picks up the new filter when it starts; running
    campaigns already have their recipients.
    """
    values: dict[str, Any] = {}
    if name is not None:
        name = name.strip()
        if not name:
            raise InvalidInput("a segment needs a name")
        values["name"] = name
    if definition is not None:
        compile_segment(definition, now=now)
        values["definition"] = definition
    get_segment(conn, segment_id)
    if not values:
        return
    try:
        with conn.begin_nested():
            conn.execute(segments.update().where(segments.c.id == segment_id).values(**values))
    except IntegrityError:
        raise ConflictError(f"a segment named {name!r} already exists") from None


def get_segment(conn: Connection, segment_id: int) -> tuple[int, str, Any]:
    """(id, name, definition) of one segment by id."""
    row = conn.execute(select(segments).where(segments.c.id == segment_id)).first()
    if row is None:
        raise NotFound(f"no segment with id {segment_id}")
    return int(row.id), str(row.name), row.definition


def matching_ids(
    conn: Connection, definition: Any, *, now: datetime, after: int = 0, limit: int = 50
) -> list[int]:
    """Ids of active subscribers a definition matches, by id, after ``after`` (paging)."""
    cond = compile_segment(definition, now=now)
    rows = conn.execute(
        select(subscribers.c.id)
        .where(and_(subscribers.c.status == "active", subscribers.c.id > after, cond))
        .order_by(subscribers.c.id)
        .limit(limit)
    )
    return [int(r[0]) for r in rows]


def find_segment(conn: Connection, name_or_id: str) -> tuple[int, str, Any]:
    """(id, name, definition) by name, or by id when the text is a number."""
    row = conn.execute(select(segments).where(segments.c.name == name_or_id)).first()
    if row is None and str(name_or_id).isdigit():
        row = conn.execute(select(segments).where(segments.c.id == int(name_or_id))).first()
    if row is None:
        raise NotFound(f"no segment {name_or_id!r}")
    return int(row.id), str(row.name), row.definition


def all_segments(conn: Connection) -> list[tuple[int, str, Any]]:
    rows = conn.execute(select(segments).order_by(segments.c.id)).all()
    return [(int(r.id), str(r.name), r.definition) for r in rows]


def delete_segment(conn: Connection, segment_id: int) -> None:
    try:
        with conn.begin_nested():
            conn.execute(segments.delete().where(segments.c.id == segment_id))
    except IntegrityError:
        raise ConflictError(f"segment {segment_id} is used by a campaign") from None
