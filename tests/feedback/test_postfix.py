"""A real MTA closes the loop: Postfix bounces sendwell's mail, sendwell suppresses.

sendwell's messages (built by the campaign builder, with their signed VERP return paths)
are handed to a private Postfix over SMTP for unknown users of a domain Postfix serves.
Postfix accepts them, its local delivery agent finds no such user, and Postfix sends its
own DSNs to the VERP addresses — routed to sendwell's inbound SMTP server, which must
suppress exactly those recipients and nobody else.
"""

from __future__ import annotations

import smtplib
import threading

import pytest
from sqlalchemy import Engine, select

from sendwell.audience.addresses import normalize
from sendwell.clock import FrozenClock
from sendwell.feedback.inbound import InboundHandler
from sendwell.feedback.ingest import Ingested, Ingestor
from sendwell.feedback.policy import FeedbackPolicy
from sendwell.store.schema import events, suppressions
from tests.feedback.helpers import BOUNCE_DOMAIN, KEY, ThreadedInbound, make_campaign, verp
from tests.feedback.postfix import LOCAL_DOMAIN, PostfixInstance, unavailable

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


def _message(to: str, outbox_id: int) -> bytes:
    from sendwell.compose.reference import reference_token

    return (
        f"From: News <news@example.com>\r\nTo: {to}\r\nSubject: Hello\r\n"
        f"Message-ID: <{outbox_id}@example.com>\r\n"
        f"X-Sendwell-Ref: {reference_token(outbox_id, KEY)}\r\n\r\nHi there.\r\n"
    ).encode()


@pytest.mark.slow
def test_postfix_dsns_for_unknown_users_suppress_them(
    sqlite_engine: Engine, clock: FrozenClock
) -> None:
    engine = sqlite_engine
    unknown = [f"unknown-user{i}@{LOCAL_DOMAIN}" for i in range(3)]
    world = make_campaign(engine, [*unknown, "keeper@example.net"], clock.now())
    received: list[Ingested] = []
    all_in = threading.Event()

    def collect(done: Ingested) -> None:
        received.append(done)
        if len(received) >= len(unknown):
            all_in.set()

    ingestor = Ingestor(engine=engine, key=KEY, policy=FeedbackPolicy(), clock=clock)
    handler = InboundHandler(ingestor, [BOUNCE_DOMAIN], on_ingested=collect)
    with ThreadedInbound(handler) as inbound:
        postfix = PostfixInstance(bounce_domain=BOUNCE_DOMAIN, inbound_port=inbound.port)
        try:
            postfix.start()
            with smtplib.SMTP("127.0.0.1", postfix.smtpd_port, timeout=30) as smtp:
                for address in unknown:
                    row = world.rows[address]
                    smtp.sendmail(verp(row), [address], _message(address, row))
            assert all_in.wait(60), f"DSNs did not arrive; Postfix log:\n{postfix.log()}"
        finally:
            postfix.stop()

    assert {d.report.outbox_id for d in received} == {world.rows[a] for a in unknown}
    for done in received:
        assert done.report.format == "dsn"
        assert done.report.recipients[0].classification == "hard"
        assert done.report.recipients[0].status == "5.1.1"
    with engine.connect() as conn:
        hashes = set(conn.execute(select(suppressions.c.email_hash)).scalars())
        kinds = list(conn.execute(select(events.c.kind).where(events.c.kind == "bounce_hard")))
    assert hashes == {normalize(a).hash for a in unknown}
    assert len(kinds) == len(unknown)
