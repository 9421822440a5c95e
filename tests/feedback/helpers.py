"""Shared set-up for feedback tests: a campaign with outbox rows, and report builders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.service import create_campaign, start_campaign
from sendwell.compose.verp import verp_address
from sendwell.store.schema import outbox

KEY = b"test-secret-key"
BOUNCE_DOMAIN = "bounces.example.test"


@dataclass(frozen=True)
class World:
    campaign_id: int
    list_id: int
    rows: dict[str, int]  # email -> outbox id


def make_campaign(
    engine: Engine, emails: list[str], now: datetime, *, delivered: bool = True
) -> World:
    with engine.begin() as conn:
        lst = create_list(conn, f"News {uuid.uuid4().hex[:8]}", now=now)
        add_subscribers(conn, [NewSubscriber(e) for e in emails], mailing_list=lst, now=now)
        campaign = create_campaign(
            conn,
            name="c",
            subject="Hello",
            from_email="news@example.com",
            from_name="News",
            html_template="<p>Hi</p>",
            text_template=None,
            list_ids=[lst.id],
            now=now,
        )
        start_campaign(conn, campaign.id, now=now)
        if delivered:
            conn.execute(
                update(outbox)
                .where(outbox.c.campaign_id == campaign.id)
                .values(status="delivered", attempts=1, done_at=now)
            )
        rows = dict(
            conn.execute(
                select(outbox.c.email, outbox.c.id).where(outbox.c.campaign_id == campaign.id)
            ).all()
        )
    return World(campaign.id, lst.id, rows)


def verp(outbox_id: int) -> str:
    return verp_address(outbox_id, BOUNCE_DOMAIN, KEY)


def dsn(
    to: str,
    recipient: str,
    status: str,
    diagnostic: str,
    action: str = "failed",
    *,
    original: str = "",
) -> bytes:
    """A Postfix-style RFC 3464 bounce addressed to ``to``; ``original`` adds the returned
    message's headers as a ``text/rfc822-headers`` part."""
    returned = f"\n--B\nContent-Type: text/rfc822-headers\n\n{original}\n" if original else ""
    return f"""From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.net.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {diagnostic}
{returned}
--B--
""".replace("\n", "\r\n").encode()


def arf(ref_header: str, rcpt: str = "") -> bytes:
    rcpt_line = f"Original-Rcpt-To: {rcpt}\n" if rcpt else ""
    return f"""From: fbl@isp.example.net
To: fbl@{BOUNCE_DOMAIN}
Subject: complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report.
--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ISP-FBL/1.0
Version: 1
{rcpt_line}
--F
Content-Type: text/rfc822-headers

From: News <news@example.com>
To: redacted@isp.example.net
Subject: Hello
{ref_header}
--F--
""".replace("\n", "\r\n").encode()


class ThreadedInbound:
    """The inbound server on its own event loop thread, for tests driving it with smtplib."""

    def __init__(self, handler: object, *, max_message_bytes: int = 1024 * 1024) -> None:
        import asyncio
        import threading

        from sendwell.feedback.inbound import InboundHandler, InboundServer

        assert isinstance(handler, InboundHandler)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.server = InboundServer(
            handler, host="127.0.0.1", port=0, max_message_bytes=max_message_bytes
        )

    def __enter__(self) -> ThreadedInbound:
        import asyncio

        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def port(self) -> int:
        return self.server.port
