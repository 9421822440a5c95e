"""Small builders shared by the audience tests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select

from sendwell.audience.lists import create_list
from sendwell.audience.records import MailingList, NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.store.schema import events, subscribers


def people(conn: Connection, now: datetime, *emails: str, name: str = "News") -> MailingList:
    ml = create_list(conn, name, now=now)
    add_subscribers(conn, [NewSubscriber(e) for e in emails], mailing_list=ml, now=now)
    return ml


def sid(conn: Connection, email: str) -> int:
    return int(
        conn.execute(select(subscribers.c.id).where(subscribers.c.email == email)).scalar_one()
    )


def event(
    conn: Connection, email: str, kind: str, at: datetime, campaign_id: int | None = None
) -> None:
    conn.execute(
        insert(events).values(
            at=at, kind=kind, subscriber_id=sid(conn, email), campaign_id=campaign_id, detail=""
        )
    )
