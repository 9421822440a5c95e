"""Counting limits on attempts (failed sign-ins, subscribe posts), kept in the database.

A row per counted attempt under a key; a key is over its limit when ``limit`` rows are
younger than the window. Kept in the database (not in memory) so that several web
processes share one count. Old rows are swept when their key is counted again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select

from sendwell.store.schema_web import web_rate_events


def over_limit(
    conn: Connection, key: str, *, now: datetime, limit: int, window_seconds: float
) -> bool:
    since = now - timedelta(seconds=window_seconds)
    n = conn.execute(
        select(func.count())
        .select_from(web_rate_events)
        .where(web_rate_events.c.key == key[:400], web_rate_events.c.at > since)
    ).scalar_one()
    return int(n) >= limit


def count_attempt(conn: Connection, key: str, *, now: datetime, window_seconds: float) -> None:
    since = now - timedelta(seconds=window_seconds)
    conn.execute(
        delete(web_rate_events).where(
            web_rate_events.c.key == key[:400], web_rate_events.c.at <= since
        )
    )
    conn.execute(insert(web_rate_events).values(key=key[:400], at=now))


def clear(conn: Connection, key: str) -> None:
    conn.execute(delete(web_rate_events).where(web_rate_events.c.key == key[:400]))
