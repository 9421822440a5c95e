"""Mailing lists: create, find, enumerate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from sendwell.audience.records import MailingList, OptIn
from sendwell.errors import ConflictError, InvalidInput, NotFound
from sendwell.store.schema import lists, subscriptions


def _row_to_list(row: object) -> MailingList:
    m = row._mapping  # type: ignore[attr-defined]
    return MailingList(
        id=m["id"],
        name=m["name"],
        description=m["description"],
        optin=m["optin"],
        created_at=m["created_at"],
    )


def create_list(
    conn: Connection, name: str, *, now: datetime, description: str = "", optin: OptIn = "single"
) -> MailingList:
    name = name.strip()
    if not name:
        raise InvalidInput("a list needs a name")
    if optin not in ("single", "double"):
        raise InvalidInput(f"opt-in must be 'single' or 'double', not {optin!r}")
    try:
        with conn.begin_nested():
            new_id = conn.execute(
                insert(lists).values(
                    name=name, description=description, optin=optin, created_at=now
                )
            ).inserted_primary_key[0]  # type: ignore[index]
    except IntegrityError:
        raise ConflictError(f"a list named {name!r} already exists") from None
    return get_list(conn, int(new_id))


def get_list(conn: Connection, list_id: int) -> MailingList:
    row = conn.execute(select(lists).where(lists.c.id == list_id)).first()
    if row is None:
        raise NotFound(f"no list with id {list_id}")
    return _row_to_list(row)


def find_list(conn: Connection, name_or_id: str) -> MailingList:
    """Look a list up by name, or by id when the text is a number."""
    row = conn.execute(select(lists).where(lists.c.name == name_or_id)).first()
    if row is None and name_or_id.isdigit():
        row = conn.execute(select(lists).where(lists.c.id == int(name_or_id))).first()
    if row is None:
        raise NotFound(f"no list named {name_or_id!r}")
    return _row_to_list(row)


def all_lists(conn: Connection) -> list[tuple[MailingList, int]]:
    """Every list with its number of confirmed subscribers."""
    confirmed = (
        select(subscriptions.c.list_id, func.count().label("n"))
        .where(subscriptions.c.status == "confirmed")
        .group_by(subscriptions.c.list_id)
        .subquery()
    )
    rows = conn.execute(
        select(lists, func.coalesce(confirmed.c.n, 0).label("confirmed"))
        .outerjoin(confirmed, confirmed.c.list_id == lists.c.id)
        .order_by(lists.c.id)
    ).all()
    return [(_row_to_list(r), int(r._mapping["confirmed"])) for r in rows]
