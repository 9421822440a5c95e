"""Each campaign's click allow-list in the store (``tracking_links``).

:func:`register_links` is called when a worker prepares a campaign; it stores the numbered
URLs of the template once (idempotent — several workers may prepare the same campaign, and
they all number the same template identically). :func:`link_url` answers a click.

Limit: if a template is edited after messages went out, already-sent click tokens keep
pointing at the URLs registered first (the allow-list is never renumbered); new URLs get
new numbers only if they are appended after the existing ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sendwell.store.schema_tracking import tracking_links


def register_links(conn: Connection, campaign_id: int, urls: Sequence[str]) -> dict[str, int]:
    """Store the campaign's URLs (first registration wins) and return URL → number."""
    existing = {
        row.url: row.number
        for row in conn.execute(
            select(tracking_links.c.url, tracking_links.c.number).where(
                tracking_links.c.campaign_id == campaign_id
            )
        )
    }
    next_number = max(existing.values(), default=-1) + 1
    new = []
    for url in urls:
        if url not in existing:
            existing[url] = next_number
            new.append({"campaign_id": campaign_id, "number": next_number, "url": url})
            next_number += 1
    if new:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(insert(tracking_links).on_conflict_do_nothing(), new)
        # Another worker may have won the race with the same numbering; read back the truth.
        existing = {
            row.url: row.number
            for row in conn.execute(
                select(tracking_links.c.url, tracking_links.c.number).where(
                    tracking_links.c.campaign_id == campaign_id
                )
            )
        }
    return existing


def link_url(conn: Connection, campaign_id: int, number: int) -> str | None:
    """The allow-listed URL of a click, or None when the campaign has no such link."""
    return conn.execute(
        select(tracking_links.c.url).where(
            and_(tracking_links.c.campaign_id == campaign_id, tracking_links.c.number == number)
        )
    ).scalar()
