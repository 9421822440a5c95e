"""The inbound SMTP server over real sockets (smtplib client, aiosmtpd server)."""

from __future__ import annotations

import smtplib
import threading

import pytest
from sqlalchemy import Engine, func, select

from sendwell.clock import FrozenClock
from sendwell.feedback.inbound import InboundHandler
from sendwell.feedback.ingest import Ingested, Ingestor
from sendwell.feedback.policy import FeedbackPolicy
from sendwell.store.schema import suppressions
from tests.feedback.helpers import BOUNCE_DOMAIN, KEY, ThreadedInbound, dsn, make_campaign, verp


def _suppressed(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(suppressions)).scalar_one())


class Collector:
    def __init__(self) -> None:
        self.items: list[Ingested] = []
        self.event = threading.Event()

    def __call__(self, done: Ingested) -> None:
        self.items.append(done)
        self.event.set()


def _handler(engine: Engine, clock: FrozenClock, collector: Collector) -> InboundHandler:
    ingestor = Ingestor(engine=engine, key=KEY, policy=FeedbackPolicy(), clock=clock)
    return InboundHandler(ingestor, [BOUNCE_DOMAIN], on_ingested=collector)


def test_a_verp_bounce_over_smtp_suppresses_the_recipient(
    engine: Engine, clock: FrozenClock
) -> None:
    world = make_campaign(engine, ["gone@example.net", "ok@example.net"], clock.now())
    row = world.rows["gone@example.net"]
    collector = Collector()
    with ThreadedInbound(_handler(engine, clock, collector)) as inbound:
        with smtplib.SMTP("127.0.0.1", inbound.port, timeout=10) as smtp:
            raw = dsn(verp(row), "gone@example.net", "5.1.1", "550 5.1.1 user unknown")
            refused = smtp.sendmail("", [verp(row)], raw)
        assert refused == {}
    assert collector.items[0].report.outbox_id == row
    assert [a.kind for a in collector.items[0].actions] == ["bounce_hard", "suppressed"]
    assert _suppressed(engine) == 1


def test_foreign_domains_are_refused(engine: Engine, clock: FrozenClock) -> None:
    collector = Collector()
    with ThreadedInbound(_handler(engine, clock, collector)) as inbound:
        with smtplib.SMTP("127.0.0.1", inbound.port, timeout=10) as smtp:
            smtp.ehlo()
            smtp.mail("")
            code, _ = smtp.rcpt("someone@elsewhere.example")
    assert code == 550
    assert collector.items == []


def test_oversized_messages_get_552(engine: Engine, clock: FrozenClock) -> None:
    collector = Collector()
    handler = _handler(engine, clock, collector)
    with ThreadedInbound(handler, max_message_bytes=10_000) as inbound:
        big = b"Subject: big\r\n\r\n" + (b"x" * 98 + b"\r\n") * 200
        with smtplib.SMTP("127.0.0.1", inbound.port, timeout=10) as smtp:
            # A client that announces the size is refused at MAIL FROM ...
            with pytest.raises(smtplib.SMTPSenderRefused) as early:
                smtp.sendmail("", [verp(1)], big)
        with smtplib.SMTP("127.0.0.1", inbound.port, timeout=10) as smtp:
            # ... one that does not, after DATA.
            smtp.ehlo()
            smtp.mail("")
            smtp.rcpt(verp(1))
            code, _ = smtp.data(big)
    assert early.value.smtp_code == 552
    assert code == 552
    assert collector.items == []


def test_garbage_and_forged_bounces_are_accepted_but_suppress_nobody(
    engine: Engine, clock: FrozenClock
) -> None:
    world = make_campaign(engine, ["victim@example.net"], clock.now())
    row = world.rows["victim@example.net"]
    forged_rcpt = f"b-{row}-aaaaaaaaaa@{BOUNCE_DOMAIN}"
    collector = Collector()
    with ThreadedInbound(_handler(engine, clock, collector)) as inbound:
        with smtplib.SMTP("127.0.0.1", inbound.port, timeout=10) as smtp:
            smtp.sendmail("", [forged_rcpt], dsn(forged_rcpt, "victim@example.net", "5.1.1", "550"))
            smtp.sendmail("", [f"x@{BOUNCE_DOMAIN}"], b"\x00\xff\r\n--\r\nContent-Type: multi")
            # The server is still up and well after both.
            assert smtp.noop()[0] == 250
    assert [i.report.outbox_id for i in collector.items] == [None, None]
    assert _suppressed(engine) == 0
