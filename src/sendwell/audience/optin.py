"""Subscribing with evidence, double opt-in confirmation and welcome messages.

A subscribe records a consent entry; on a double opt-in list the subscription stays
``unconfirmed`` and a confirmation message is queued through the delivery engine: each
list has a transactional campaign of kind ``confirmation`` (and optionally ``welcome``),
always ``running``, never finished, and each message is one outbox row with a high
``priority`` so it overtakes campaign traffic. Frequency caps and the sunset rule only
apply when a campaign's outbox is materialized, so they never touch these rows.

Confirmation links carry a signed token ``<subscriber>.<list>.<issued>.<mac>`` (HMAC-SHA256
under the instance secret, truncated to 128 bits); :func:`confirm` checks the MAC and the
age. The web layer serves ``{public_url}/confirm/{token}`` and calls :func:`confirm`.

Limits: one outbox row per (campaign, subscriber), so a repeated request re-queues the
same row rather than adding one; the message template needs ``{{ confirm_url }}``, which
the campaign message builder supplies for ``confirmation`` campaigns.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, and_, insert, select, update

from sendwell.audience.addresses import normalize, stored_address
from sendwell.audience.consent import Evidence, history, record
from sendwell.audience.lists import get_list
from sendwell.audience.records import MailingList, NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.audience.suppressions import is_suppressed
from sendwell.audience.unsubscribe import unsubscribe
from sendwell.errors import ConflictError, InvalidInput, NotFound
from sendwell.store.schema import campaign_lists, campaigns, outbox, subscribers, subscriptions

MessageKind = Literal["confirmation", "welcome"]
PRIORITY_TRANSACTIONAL = 10
DEFAULT_LINK_AGE = timedelta(days=7)


@dataclass(frozen=True)
class SubscribeResult:
    subscriber_id: int | None
    status: str  # confirmed | unconfirmed | suppressed
    message_queued: bool


@dataclass(frozen=True)
class ConfirmResult:
    subscriber_id: int
    list_id: int
    already: bool


def _mac(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def confirmation_token(key: bytes, subscriber_id: int, list_id: int, issued_at: datetime) -> str:
    payload = f"{subscriber_id}.{list_id}.{int(issued_at.timestamp())}"
    return f"{payload}.{_mac(key, payload)}"


def confirm_url(
    public_url: str, key: bytes, subscriber_id: int, list_id: int, issued_at: datetime
) -> str:
    """The link a confirmation message carries."""
    token = confirmation_token(key, subscriber_id, list_id, issued_at)
    return f"{public_url.rstrip('/')}/confirm/{token}"


def read_token(
    key: bytes, token: str, *, now: datetime, max_age: timedelta = DEFAULT_LINK_AGE
) -> tuple[int, int]:
    """(subscriber id, list id) of a valid, unexpired token; InvalidInput otherwise."""
    parts = token.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        raise InvalidInput("malformed confirmation link")
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(key, payload), parts[3]):
        raise InvalidInput("confirmation link has a bad signature")
    issued = datetime.fromtimestamp(int(parts[2]), tz=UTC)
    if now - issued > max_age:
        raise InvalidInput("confirmation link has expired; please subscribe again")
    return int(parts[0]), int(parts[1])


def list_message(conn: Connection, list_id: int, kind: MessageKind) -> int | None:
    """The id of a list's transactional campaign of ``kind``, if configured."""
    return conn.execute(
        select(campaigns.c.id)
        .join(campaign_lists, campaign_lists.c.campaign_id == campaigns.c.id)
        .where(and_(campaign_lists.c.list_id == list_id, campaigns.c.kind == kind))
        .limit(1)
    ).scalar()


def set_list_message(
    conn: Connection,
    mailing_list: MailingList,
    kind: MessageKind,
    *,
    subject: str,
    html_template: str,
    from_email: str,
    from_name: str = "",
    text_template: str | None = None,
    now: datetime,
) -> int:
    """Create or replace a list's confirmation or welcome message; returns its campaign id.

    Templates are checked when the first message is built (the audience package does not
    compile templates); a confirmation template must use ``{{ confirm_url }}``.
    """
    if kind == "confirmation" and "confirm_url" not in html_template:
        raise InvalidInput("a confirmation message must contain {{ confirm_url }}")
    if not subject.strip():
        raise InvalidInput("the message needs a subject")
    values = {
        "subject": subject,
        "html_template": html_template,
        "text_template": text_template,
        "from_email": normalize(from_email).email,
        "from_name": from_name,
    }
    existing = list_message(conn, mailing_list.id, kind)
    if existing is not None:
        conn.execute(update(campaigns).where(campaigns.c.id == existing).values(**values))
        return existing
    new_id = conn.execute(
        insert(campaigns).values(
            name=f"{mailing_list.name} — {kind}",
            state="running",
            kind=kind,
            created_at=now,
            started_at=now,
            **values,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    conn.execute(insert(campaign_lists).values(campaign_id=new_id, list_id=mailing_list.id))
    return int(new_id)


def queue_message(
    conn: Connection,
    mailing_list: MailingList,
    subscriber_id: int,
    kind: MessageKind,
    *,
    now: datetime,
    resend: bool = False,
) -> bool:
    """Queue one transactional message; False when the list has none or it was sent."""
    campaign_id = list_message(conn, mailing_list.id, kind)
    if campaign_id is None:
        return False
    person = conn.execute(
        select(subscribers.c.email, subscribers.c.domain).where(subscribers.c.id == subscriber_id)
    ).one()
    current = conn.execute(
        select(outbox.c.id, outbox.c.status).where(
            and_(outbox.c.campaign_id == campaign_id, outbox.c.subscriber_id == subscriber_id)
        )
    ).first()
    if current is None:
        conn.execute(
            insert(outbox).values(
                campaign_id=campaign_id,
                subscriber_id=subscriber_id,
                email=person.email,
                domain=person.domain,
                status="queued",
                attempts=0,
                next_attempt_at=now,
                updated_at=now,
                priority=PRIORITY_TRANSACTIONAL,
            )
        )
        return True
    if not resend or current.status in ("queued", "deferred"):
        return current.status in ("queued", "deferred")
    conn.execute(
        update(outbox)
        .where(outbox.c.id == current.id)
        .values(
            status="queued",
            attempts=0,
            next_attempt_at=now,
            first_attempt_at=None,
            done_at=None,
            updated_at=now,
        )
    )
    return True


def subscribe(
    conn: Connection,
    person: NewSubscriber,
    mailing_list: MailingList,
    evidence: Evidence,
    *,
    now: datetime,
) -> SubscribeResult:
    """Subscribe one person with evidence of their consent.

    Double opt-in lists get an ``unconfirmed`` subscription and a queued confirmation
    (the list must have a confirmation message); single opt-in lists a ``confirmed`` one
    and the welcome message if any. A suppressed address is not subscribed. An earlier
    ``unsubscribed`` subscription is renewed: subscribing again is new consent.
    """
    addr = normalize(person.email)
    double = mailing_list.optin == "double"
    if double and list_message(conn, mailing_list.id, "confirmation") is None:
        raise ConflictError(
            f"list {mailing_list.name!r} is double opt-in but has no confirmation message"
        )
    if is_suppressed(conn, addr.hash, now=now, list_id=mailing_list.id):
        return SubscribeResult(None, "suppressed", False)
    add_subscribers(conn, [person], mailing_list=mailing_list, now=now)
    sid = int(
        conn.execute(select(subscribers.c.id).where(subscribers.c.email == addr.email)).scalar_one()
    )
    status = "unconfirmed" if double else "confirmed"
    conn.execute(
        update(subscriptions)
        .where(
            and_(
                subscriptions.c.subscriber_id == sid,
                subscriptions.c.list_id == mailing_list.id,
                subscriptions.c.status == "unsubscribed",
            )
        )
        .values(status=status, created_at=now, updated_at=now)
    )
    current = conn.execute(
        select(subscriptions.c.status).where(
            and_(subscriptions.c.subscriber_id == sid, subscriptions.c.list_id == mailing_list.id)
        )
    ).scalar_one()
    method = evidence.method or ("double_opt_in" if double else "checkbox")
    record(
        conn,
        at=now,
        email_hash=addr.hash,
        action="subscribe",
        evidence=replace(evidence, method=method, lawful_basis=evidence.lawful_basis or "consent"),
        subscriber_id=sid,
        list_id=mailing_list.id,
    )
    if current == "unconfirmed":
        queued = queue_message(conn, mailing_list, sid, "confirmation", now=now, resend=True)
    else:
        queued = queue_message(conn, mailing_list, sid, "welcome", now=now)
    return SubscribeResult(sid, current, queued)


def confirm(
    conn: Connection,
    token: str,
    now: datetime,
    ip: str | None,
    user_agent: str | None,
    *,
    key: bytes,
    max_age: timedelta = DEFAULT_LINK_AGE,
) -> ConfirmResult:
    """Confirm the subscription a link names; records the evidence and queues the welcome.

    Raises InvalidInput (bad or expired link), NotFound (subscription gone) or
    ConflictError (the person unsubscribed since). Confirming twice is harmless.
    """
    sid, list_id = read_token(key, token, now=now, max_age=max_age)
    row = conn.execute(
        select(subscriptions.c.status, subscribers.c.email)
        .join(subscribers, subscribers.c.id == subscriptions.c.subscriber_id)
        .where(and_(subscriptions.c.subscriber_id == sid, subscriptions.c.list_id == list_id))
    ).first()
    if row is None:
        raise NotFound("this subscription no longer exists")
    if row.status == "confirmed":
        return ConfirmResult(sid, list_id, already=True)
    if row.status == "unsubscribed":
        raise ConflictError("this subscription was withdrawn; please subscribe again")
    conn.execute(
        update(subscriptions)
        .where(and_(subscriptions.c.subscriber_id == sid, subscriptions.c.list_id == list_id))
        .values(status="confirmed", updated_at=now)
    )
    person = stored_address(row.email)
    asked = [e for e in history(conn, person) if e.action == "subscribe" and e.list_id == list_id]
    base = asked[-1].evidence if asked else Evidence(source="link")
    record(
        conn,
        at=now,
        email_hash=person.hash,
        action="confirm",
        evidence=replace(
            base,
            source="link",
            ip=ip,
            user_agent=user_agent,
            method="double_opt_in",
            confirmed_at=now,
            lawful_basis="consent",
        ),
        subscriber_id=sid,
        list_id=list_id,
    )
    queue_message(conn, get_list(conn, list_id), sid, "welcome", now=now)
    return ConfirmResult(sid, list_id, already=False)


def withdraw(
    conn: Connection,
    email: str,
    evidence: Evidence,
    *,
    now: datetime,
    list_ids: list[int] | None = None,
) -> int:
    """Unsubscribe (from ``list_ids`` or everything) and log it; returns rows changed."""
    addr = normalize(email)
    sid = conn.execute(select(subscribers.c.id).where(subscribers.c.email == addr.email)).scalar()
    if sid is None:
        raise NotFound(f"no subscriber {addr.email}")
    return unsubscribe(conn, int(sid), now=now, list_ids=list_ids, evidence=evidence)
