"""A real MTA closes the loop: sendwell relays a campaign through Postfix, which bounces
the unknown recipients, and sendwell's inbound server suppresses exactly those.

The whole path is the product's own: a campaign is started, sendwell's worker delivers
every message through a ``[[relay]]`` of the shaping file pointing at a private Postfix
on loopback, with the signed VERP return path as envelope sender. Postfix accepts every
recipient (250), delivers the known ones to a mailbox, fails the unknown ones in its
local delivery agent and sends its own RFC 3464 DSNs to the VERP addresses — routed by
its transport map to sendwell's inbound SMTP server, which records them.

Completion is observed, not waited for: Postfix's queue is empty only when every DSN was
accepted by the inbound server, which answers 250 only after the feedback is committed.
"""

from __future__ import annotations

import asyncio
import email
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from sendwell.app import App, open_app
from sendwell.audience.addresses import normalize
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.service import create_campaign, start_campaign
from sendwell.compose.verp import parse_verp
from sendwell.config import Settings
from sendwell.feedback.inbound import InboundHandler
from sendwell.feedback.ingest import Ingested, Ingestor
from sendwell.reports.campaign import campaign_report
from sendwell.store.schema import events, outbox, suppressions
from tests.conftest import require_tool
from tests.feedback.helpers import ThreadedInbound
from tests.feedback.postfix import LOCAL_DOMAIN, PostfixInstance, free_port, unavailable

BOUNCE_DOMAIN = "bounces.sender.example"
KNOWN = [f"{name}@{LOCAL_DOMAIN}" for name in ("ann", "bob", "carol")]
UNKNOWN = [f"unknown-user{i}@{LOCAL_DOMAIN}" for i in range(3)]
DEADLINE_SECONDS = 60.0
# Events the feedback loop writes (the worker writes its own per attempt).
FEEDBACK_KINDS = ("bounce_hard", "bounce_soft", "bounce_block", "suppressed", "complaint")


def _shaping(relay_port: int) -> str:
    return f"""
[[relay]]
name = "postfix"
host = "127.0.0.1"
port = {relay_port}
tls = "off"

[[source]]
name = "via-postfix"
relays = ["postfix"]
"""


def _app(tmp_path: Path, db_url: str, relay_port: int) -> App:
    (tmp_path / "shaping.toml").write_text(_shaping(relay_port))
    settings = Settings().replace(
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_key="postfix-test-key",
        bounce_domain=BOUNCE_DOMAIN,
        # A relay needs no MX lookups; nothing answers here, so none can sneak in.
        dns_resolver="127.0.0.1:9",
        helo_name="sender.example",
        shaping_file=str(tmp_path / "shaping.toml"),
        smtp_timeout=10,
    )
    return open_app(settings, create=True)


def _make_list(app: App) -> int:
    now = app.clock.now()
    with app.engine.begin() as conn:
        news = create_list(conn, "News", now=now)
        people = [NewSubscriber(e) for e in [*KNOWN, *UNKNOWN]]
        add_subscribers(conn, people, mailing_list=news, now=now)
    return news.id


def _start_campaign(app: App, list_id: int, name: str) -> int:
    now = app.clock.now()
    with app.engine.begin() as conn:
        campaign = create_campaign(
            conn,
            name=name,
            subject="Our launch",
            from_email="news@sender.example",
            from_name="Sender News",
            html_template="<p>Hello {{ subscriber.email }}</p>",
            text_template=None,
            list_ids=[list_id],
            now=now,
        )
        # The engine's own start, without the preflight gate: this test is about what
        # comes back from a real MTA, not about compliance (tests/test_app.py covers it).
        start_campaign(conn, campaign.id, now=now)
    return campaign.id


def _wait_until_idle(postfix: PostfixInstance) -> None:
    """Poll Postfix's queue (the observable state) until it is empty, with a deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not postfix.queue_is_empty():
        if time.monotonic() > deadline:
            pytest.fail(f"Postfix still holds mail after {DEADLINE_SECONDS}s:\n{postfix.log()}")
        time.sleep(0.1)


@pytest.mark.slow
def test_a_campaign_relayed_through_postfix_suppresses_exactly_its_unknown_users(
    tmp_path: Path, db_url: str
) -> None:
    if unavailable() is not None:
        require_tool(str(unavailable()))
    received: list[Ingested] = []
    lock = threading.Lock()

    def collect(done: Ingested) -> None:
        with lock:
            received.append(done)

    # The app needs Postfix's port (shaping file), Postfix the inbound server's (transport
    # map), the inbound server the app (its database): choose Postfix's port first.
    relay_port = free_port()
    app = _app(tmp_path, db_url, relay_port)
    key = app.secret_key()
    ingestor = Ingestor(engine=app.engine, key=key, policy=app.feedback_policy(), clock=app.clock)
    handler = InboundHandler(ingestor, [BOUNCE_DOMAIN], on_ingested=collect)
    try:
        with ThreadedInbound(handler) as inbound:
            postfix = PostfixInstance(
                bounce_domain=BOUNCE_DOMAIN,
                inbound_port=inbound.port,
                known=KNOWN,
                smtpd_port=relay_port,
            )
            try:
                postfix.start()
                list_id = _make_list(app)
                campaign_id = _start_campaign(app, list_id, "launch")
                asyncio.run(app.worker().drain())
                _wait_until_idle(postfix)
                mailbox = postfix.mailbox()
            finally:
                postfix.stop()
        with app.engine.connect() as conn:
            rows = {r.email: r for r in conn.execute(select(outbox))}
            feedback = list(conn.execute(select(events).where(events.c.kind.in_(FEEDBACK_KINDS))))
            suppressed = set(conn.execute(select(suppressions.c.email_hash)).scalars())
            report = campaign_report(conn, campaign_id)
        # The next campaign to the same list leaves the bounced addresses out.
        follow_up = _start_campaign(app, list_id, "follow-up")
        with app.engine.connect() as conn:
            statuses = dict(
                conn.execute(
                    select(outbox.c.email, outbox.c.status).where(outbox.c.campaign_id == follow_up)
                ).all()
            )
    finally:
        app.close()

    # sendwell's side of the SMTP conversation: Postfix accepted all six, from their VERP.
    assert {e: r.status for e, r in rows.items()} == {e: "delivered" for e in KNOWN + UNKNOWN}
    # The known recipients got the campaign, with their own signed return path.
    delivered_to = {}
    for raw in mailbox:
        msg = email.message_from_bytes(raw)
        assert msg["Subject"] == "Our launch"
        delivered_to[str(msg["To"])] = parse_verp(str(msg["Return-Path"]), key)
    assert delivered_to == {e: rows[e].id for e in KNOWN}

    # One DSN per unknown recipient, identified by its signed VERP envelope recipient.
    assert len(received) == len(UNKNOWN)
    by_row = {d.report.outbox_id: d.report for d in received}
    assert set(by_row) == {rows[e].id for e in UNKNOWN}
    for address in UNKNOWN:
        dsn = by_row[rows[address].id]
        assert (dsn.kind, dsn.format, dsn.id_source) == ("bounce", "dsn", "verp")
        (result,) = dsn.recipients
        assert (result.address, result.action, result.status) == (address, "failed", "5.1.1")
        assert (result.classification, result.reason) == ("hard", "mailbox_unknown")

    # Events: a hard bounce and a suppression for each unknown row, linked to that row's
    # subscriber and campaign; nothing at all for the known ones.
    linked = {(e.kind, e.outbox_id, e.subscriber_id, e.campaign_id) for e in feedback}
    expected = {
        (kind, rows[a].id, rows[a].subscriber_id, campaign_id)
        for a in UNKNOWN
        for kind in ("bounce_hard", "suppressed")
    }
    assert linked == expected
    assert len(feedback) == len(expected)
    assert all("5.1.1" in (e.detail or "") for e in feedback if e.kind == "bounce_hard")
    assert suppressed == {normalize(a).hash for a in UNKNOWN}
    assert (report.delivered, report.bounced, report.bounced_hard) == (6, 3, 3)
    assert statuses == {**dict.fromkeys(KNOWN, "queued"), **dict.fromkeys(UNKNOWN, "suppressed")}
