"""The delivery worker end to end: real SMTP and DNS through the sandbox, real databases.

No SMTP or DNS is mocked: the sandbox's DNS server answers real packets, its MX servers
speak real SMTP, and the sandbox record (one JSON line per accepted message) is the judge
of who received what.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sendwell.app import App, open_app
from sendwell.audience.addresses import normalize
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.audience.suppressions import is_suppressed
from sendwell.campaigns.service import (
    campaign_status,
    create_campaign,
    pause_campaign,
    resume_campaign,
    start_campaign,
)
from sendwell.clock import FrozenClock
from sendwell.compose.verp import parse_verp
from sendwell.config import Settings
from sendwell.delivery.jobs import Outcome
from sendwell.sandbox import MxHost, ProviderProfile, Sandbox, SandboxConfig
from sendwell.store.schema import events, outbox, subscriptions

FIRST_NAMES = ["Ada", "Grace", "Linus", "Jörg", "Zoë", "Ken", "Radia", "Alan"]


class MonoClock:
    """The sandbox's monotonic clock, moved together with the worker's clock."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def _world(*, greylist_seconds: int | None = None) -> SandboxConfig:
    base = SandboxConfig.load()
    providers = (
        ProviderProfile(
            name="alpha",
            domains=("alpha.sandbox", "alpha-mail.sandbox"),
            mx_hosts=(
                MxHost(10, "mx1.alpha.sandbox", "127.0.7.1"),
                MxHost(20, "mx2.alpha.sandbox", "127.0.7.2"),
            ),
            unknown_mailbox="^unknown",
        ),
        ProviderProfile(
            name="beta",
            domains=("beta.sandbox",),
            mx_hosts=(MxHost(5, "in.beta.sandbox", "127.0.7.3"),),
            unknown_mailbox="^unknown",
        ),
        ProviderProfile(
            name="gamma",
            domains=("gamma.sandbox",),
            mx_hosts=(MxHost(10, "mx.gamma.sandbox", "127.0.7.4"),),
            unknown_mailbox="^unknown",
            greylist_seconds=greylist_seconds,
        ),
    )
    return SandboxConfig(
        providers=providers, dns_records=(), dns_faults=base.dns_faults, dns_port=0, smtp_port=0
    )


FAST_SHAPING = """
[default]
connection_limit = 10
max_message_rate = "100000/s"
max_connection_rate = "10000/s"
max_deliveries_per_connection = 100
[source_default]
max_message_rate = "100000/s"
"""


def _fast_shaping(tmp_path: Path) -> Path:
    path = tmp_path / "shaping.toml"
    path.write_text(FAST_SHAPING)
    return path


async def _with_world(
    tmp_path: Path,
    world: SandboxConfig,
    db_url: str | None,
    body: Callable[[App, Sandbox, FrozenClock, MonoClock], Awaitable[None]],
    **overrides: Any,
) -> None:
    mono = MonoClock()
    sandbox = Sandbox(world, record_path=tmp_path / "record.jsonl", keep_messages=True, now=mono)
    clock = FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    async with sandbox:
        host, port = sandbox.dns_address
        settings = Settings().replace(
            data_dir=tmp_path / "data",
            database_url=db_url or "",
            dns_resolver=f"{host}:{port}",
            smtp_port=sandbox.smtp_port,
            helo_name="sendwell-test.localhost",
            secret_key="test-key",
            shaping_file=str(_fast_shaping(tmp_path)),
            **overrides,
        )
        app = open_app(settings, clock=clock, create=True)
        try:
            await body(app, sandbox, clock, mono)
        finally:
            app.close()


def _seed(app: App, emails: list[str], *, names: dict[str, str | None]) -> int:
    now = app.clock.now()
    with app.engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
        add_subscribers(
            conn, [NewSubscriber(e, names.get(e)) for e in emails], mailing_list=ml, now=now
        )
        campaign = create_campaign(
            conn,
            name="t",
            subject="Hello {{ subscriber.first_name | default('there') }}",
            from_email="news@sender.sandbox",
            from_name="News",
            html_template="<p>Dear {{ subscriber.first_name | default('there') }},</p>",
            text_template="Dear {{ subscriber.first_name | default('there') }},\n",
            list_ids=[ml.id],
            now=now,
        )
        start_campaign(conn, campaign.id, now=now)
    return campaign.id


def _record(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "record.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _rows(app: App) -> dict[str, Any]:
    with app.engine.connect() as conn:
        return {r.email: r for r in conn.execute(select(outbox))}


@pytest.mark.slow
def test_thousand_recipients_over_three_providers_each_get_exactly_their_own_message(
    tmp_path: Path, db_url: str
) -> None:
    rng = random.Random(1)
    domains = ["alpha.sandbox", "alpha-mail.sandbox", "beta.sandbox", "gamma.sandbox"]
    emails = [f"reader{i}@{domains[i % 4]}" for i in range(1000)]
    names = {e: (rng.choice(FIRST_NAMES) if i % 10 else None) for i, e in enumerate(emails)}

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, mono: MonoClock) -> None:
        campaign_id = _seed(app, emails, names=names)
        await app.worker().drain()
        with app.engine.connect() as conn:
            status = campaign_status(conn, campaign_id)
        assert status.counts["delivered"] == 1000
        assert status.state == "finished"
        record = _record(tmp_path)
        assert Counter(r["rcpt"] for r in record) == Counter(emails)  # exactly once each
        assert {r["provider"] for r in record} == {"alpha", "beta", "gamma"}
        # alpha's preferred MX takes the traffic; sessions were reused.
        assert {r["mx"] for r in record if r["provider"] == "alpha"} == {"mx1.alpha.sandbox"}
        assert len({r["session"] for r in record}) < 100
        by_rcpt = {m.rcpt: m for m in sandbox.messages}
        key = app.secret_key()
        rows = _rows(app)
        for address in emails:
            msg = email.message_from_bytes(by_rcpt[address].data, policy=email.policy.default)
            expected = names[address] or "there"
            assert msg["Subject"] == f"Hello {expected}"
            assert msg["To"] == address
            text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
            assert f"Dear {expected}," in text and f"Dear {expected}," in html
            # The envelope sender is a signed VERP address naming this recipient's row.
            assert parse_verp(by_rcpt[address].mail_from, key) == rows[address].id
            assert rows[address].status == "delivered"
            assert rows[address].last_code == 250

    asyncio.run(_with_world(tmp_path, _world(), db_url, body))


def test_unknown_mailboxes_bounce_with_the_reply_stored(tmp_path: Path) -> None:
    emails = ["ann@beta.sandbox", "unknown1@beta.sandbox", "unknown2@alpha.sandbox"]

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, mono: MonoClock) -> None:
        campaign_id = _seed(app, emails, names={})
        await app.worker().drain()
        rows = _rows(app)
        assert rows["ann@beta.sandbox"].status == "delivered"
        for address in emails[1:]:
            row = rows[address]
            assert row.status == "bounced"
            assert row.last_code == 550
            assert "5.1.1" in row.last_reply and "Recipient address rejected" in row.last_reply
            assert row.attempts == 1
        with app.engine.connect() as conn:
            kinds = Counter(r.kind for r in conn.execute(select(events.c.kind)))
            assert campaign_status(conn, campaign_id).state == "finished"
        assert kinds["delivered"] == 1 and kinds["bounced"] == 2
        # The session bounce went through the feedback policy: a hard bounce suppresses.
        assert kinds["bounce_hard"] == 2
        with app.engine.connect() as conn:
            for address in emails[1:]:
                assert is_suppressed(conn, normalize(address).hash, now=clock.now())
            assert not is_suppressed(conn, normalize(emails[0]).hash, now=clock.now())
        assert [r["rcpt"] for r in _record(tmp_path)] == ["ann@beta.sandbox"]

    asyncio.run(_with_world(tmp_path, _world(), None, body))


def test_greylisted_mail_arrives_after_the_retry(tmp_path: Path) -> None:
    emails = [f"g{i}@gamma.sandbox" for i in range(5)] + ["b@beta.sandbox"]

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, mono: MonoClock) -> None:
        campaign_id = _seed(app, emails, names={})
        worker = app.worker(rng=random.Random(3))
        await worker.drain()
        rows = _rows(app)
        assert rows["b@beta.sandbox"].status == "delivered"
        first_try = clock.now()
        for i in range(5):
            row = rows[f"g{i}@gamma.sandbox"]
            assert row.status == "deferred" and row.last_code == 451
            assert "4.7.1" in row.last_reply
            delay = (row.next_attempt_at - first_try).total_seconds()
            assert 60 * 0.8 <= delay <= 60 * 1.2  # retry_base_seconds with jitter
        # Nothing is due yet: draining again sends nothing.
        await worker.drain()
        assert len(_record(tmp_path)) == 1
        # Time passes for both sendwell and the greylisting server.
        clock.advance(90)
        mono.value += 90
        await worker.drain()
        rows = _rows(app)
        assert all(rows[e].status == "delivered" for e in emails)
        assert all(rows[f"g{i}@gamma.sandbox"].attempts == 2 for i in range(5))
        assert Counter(r["rcpt"] for r in _record(tmp_path)) == Counter(emails)
        with app.engine.connect() as conn:
            assert campaign_status(conn, campaign_id).state == "finished"

    asyncio.run(_with_world(tmp_path, _world(greylist_seconds=60), None, body))


def test_paused_campaigns_are_not_sent_until_resumed(tmp_path: Path) -> None:
    emails = [f"p{i}@beta.sandbox" for i in range(20)]

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, mono: MonoClock) -> None:
        campaign_id = _seed(app, emails, names={})
        with app.engine.begin() as conn:
            pause_campaign(conn, campaign_id)
        await app.worker().drain()
        assert _record(tmp_path) == []
        with app.engine.begin() as conn:
            resume_campaign(conn, campaign_id, now=clock.now())
        await app.worker().drain()
        assert Counter(r["rcpt"] for r in _record(tmp_path)) == Counter(emails)

    asyncio.run(_with_world(tmp_path, _world(), None, body))


def test_rows_leased_by_a_dead_worker_are_retried_after_the_lease(tmp_path: Path) -> None:
    emails = [f"c{i}@alpha.sandbox" for i in range(10)]

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, mono: MonoClock) -> None:
        _seed(app, emails, names={})
        from sendwell.delivery.outbox import OutboxStore

        store = OutboxStore(app.engine)
        # A worker leases rows and dies without a word.
        taken = store.lease("dead-worker", limit=4, lease_seconds=300, now=clock.now())
        assert len(taken) == 4
        await app.worker().drain()
        assert len(_record(tmp_path)) == 6  # the other rows went out
        clock.advance(301)
        await app.worker().drain()
        assert Counter(r["rcpt"] for r in _record(tmp_path)) == Counter(emails)

    asyncio.run(_with_world(tmp_path, _world(), None, body))


def test_undeliverable_domains(tmp_path: Path) -> None:
    emails = ["a@nullmx.sandbox", "b@nxdomain-here.sandbox", "c@servfail.sandbox"]

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, mono: MonoClock) -> None:
        from sendwell.sandbox import DnsRecord

        sandbox.dns.add(DnsRecord("nullmx.sandbox", "MX", "0 ."))
        sandbox.dns.set_fault("servfail.sandbox", "servfail")
        _seed(app, emails, names={})
        await app.worker().drain()
        rows = _rows(app)
        assert rows["a@nullmx.sandbox"].status == "bounced"
        assert "5.1.10" in rows["a@nullmx.sandbox"].last_reply
        assert rows["b@nxdomain-here.sandbox"].status == "bounced"
        assert rows["c@servfail.sandbox"].status == "deferred"
        assert rows["c@servfail.sandbox"].next_attempt_at > clock.now() + timedelta(seconds=40)

    asyncio.run(_with_world(tmp_path, _world(), None, body))


def test_a_message_on_the_wire_when_its_campaign_is_cancelled_is_recorded_as_delivered(
    tmp_path: Path,
) -> None:
    from sendwell.campaigns.service import cancel_campaign
    from sendwell.delivery.outbox import OutboxStore

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, mono: MonoClock) -> None:
        campaign_id = _seed(app, ["a@beta.sandbox", "b@beta.sandbox"], names={})
        store = OutboxStore(app.engine)
        jobs = store.lease("w1", limit=2, lease_seconds=300, now=clock.now())
        with app.engine.begin() as conn:
            cancel_campaign(conn, campaign_id, now=clock.now())
        # The worker had "a" on the wire and got a 250; "b" it never tried.
        from sendwell.delivery.jobs import Outcome

        store.record(
            "w1",
            [
                Outcome(job=jobs[0], kind="delivered", at=clock.now(), code=250, reply="250 ok"),
                Outcome(job=jobs[1], kind="released", at=clock.now()),
            ],
        )
        rows = _rows(app)
        assert rows[jobs[0].email].status == "delivered"
        assert rows[jobs[1].email].status == "cancelled"
        # Nothing of a cancelled campaign is ever leased again.
        clock.advance(400)
        assert store.lease("w2", limit=10, lease_seconds=300, now=clock.now()) == []

    asyncio.run(_with_world(tmp_path, _world(), None, body))


def test_drain_does_not_stop_while_rows_are_queued_when_work_in_hand_runs_out_mid_flush(
    tmp_path: Path,
) -> None:
    """Regression: a round that skipped leasing (enough in hand) must not read as "empty".

    The after-record hook below holds each flush until every message the worker had in
    hand is finished — the interleaving that made drain() return with most recipients
    still queued when sessions were faster than the database.
    """
    import threading
    import time

    emails = [f"q{i}@slowpoke.sandbox" for i in range(60)]
    # Slow replies keep more than half a batch in hand when the loop wakes up, so rounds
    # skip leasing; the hook then lets all of it finish before the round ends.
    slowpoke = ProviderProfile(
        name="slowpoke",
        domains=("slowpoke.sandbox",),
        mx_hosts=(MxHost(10, "mx.slowpoke.sandbox", "127.0.7.9"),),
        slow_ms=40,
    )
    world = SandboxConfig(
        providers=(slowpoke,), dns_records=(), dns_faults={}, dns_port=0, smtp_port=0
    )

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, mono: MonoClock) -> None:
        campaign_id = _seed(app, emails, names={})
        # Two sessions finish messages two at a time: rounds wake on the timer with more
        # than half of the batch still in hand.
        (tmp_path / "shaping.toml").write_text(
            FAST_SHAPING.replace("connection_limit = 10", "connection_limit = 2")
        )
        worker = app.worker(batch_size=40)
        original = worker._after_record  # the app's hook (bounce policy, finishing campaigns)
        assert original is not None
        in_hand_done = threading.Event()

        def slow_flush(outcomes: Sequence[Outcome]) -> None:
            deadline = time.monotonic() + 5
            while worker._pending and time.monotonic() < deadline:
                in_hand_done.wait(0.01)
            original(outcomes)

        worker._after_record = slow_flush
        await worker.drain()
        with app.engine.connect() as conn:
            assert campaign_status(conn, campaign_id).counts["delivered"] == len(emails)

    asyncio.run(_with_world(tmp_path, world, None, body))


def test_double_opt_in_confirmation_goes_out_first_and_its_link_confirms(tmp_path: Path) -> None:
    """Subscribe → the confirmation travels through the engine ahead of campaign traffic →
    the signed link in the received message confirms the subscription."""
    import re

    from sendwell.audience.consent import Evidence
    from sendwell.audience.optin import confirm, set_list_message, subscribe

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, mono: MonoClock) -> None:
        now = clock.now()
        with app.engine.begin() as conn:
            # Campaign traffic already queued for someone else on a single opt-in list...
            campaign_id = _seed(app, [f"c{i}@beta.sandbox" for i in range(30)], names={})
            news = create_list(conn, "Events", now=now, optin="double")
            set_list_message(
                conn,
                news,
                "confirmation",
                subject="Please confirm your subscription",
                html_template='<p>Confirm: <a href="{{ confirm_url }}">yes</a></p>',
                from_email="news@sender.sandbox",
                now=now,
            )
            result = subscribe(
                conn,
                NewSubscriber("new@alpha.sandbox", "Nia"),
                news,
                Evidence(
                    source="form", ip="192.0.2.7", wording="Send me events", wording_version="v1"
                ),
                now=now,
            )
        assert result.status == "unconfirmed" and result.message_queued
        # One row per lease makes the lease order visible in the sandbox record.
        await app.worker(batch_size=1).drain()
        record = _record(tmp_path)
        # The confirmation was leased ahead of the campaign's thirty messages.
        assert record[0]["rcpt"] == "new@alpha.sandbox"
        message = next(m for m in sandbox.messages if m.rcpt == "new@alpha.sandbox")
        parsed = email.message_from_bytes(message.data, policy=email.policy.default)
        html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
        token = re.search(r"/confirm/([^\"'<>\s]+)", html)
        assert token is not None, html
        with app.engine.begin() as conn:
            done = confirm(
                conn, token.group(1), clock.now(), "192.0.2.7", "test", key=app.secret_key()
            )
            assert not done.already
            status = conn.execute(
                select(subscriptions.c.status).where(
                    subscriptions.c.subscriber_id == done.subscriber_id,
                    subscriptions.c.list_id == news.id,
                )
            ).scalar_one()
        assert status == "confirmed"
        with app.engine.connect() as conn:
            assert campaign_status(conn, campaign_id).counts["delivered"] == 30

    asyncio.run(_with_world(tmp_path, _world(), None, body))


def test_connections_outlive_a_lease_batch(tmp_path: Path) -> None:
    # Leases of 20 rows to one site: its queue runs dry after each. Idle sessions keep
    # their connections for the next batch instead of reconnecting for every few messages.
    emails = [f"reader{i}@beta.sandbox" for i in range(120)]

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, mono: MonoClock) -> None:
        _seed(app, emails, names={})
        await app.worker().drain()
        record = _record(tmp_path)
        assert Counter(r["rcpt"] for r in record) == Counter(emails)
        assert len({r["session"] for r in record}) <= 10  # connection_limit; 71 without lingering

    asyncio.run(_with_world(tmp_path, _world(), None, body, worker_batch_size=20))


def test_an_idle_connection_makes_way_for_another_sites_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One session at a time for the whole worker, and idle connections kept for an hour:
    # each site's session must still get the slot as soon as it needs it, and the worker
    # must stop as soon as the work is done.
    from sendwell.delivery import worker

    monkeypatch.setattr(worker, "CONNECTION_LINGER_SECONDS", 3600.0)
    emails = [f"r{i}@{d}" for i in range(15) for d in ("beta.sandbox", "gamma.sandbox")]

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, mono: MonoClock) -> None:
        _seed(app, emails, names={})
        await asyncio.wait_for(app.worker().drain(), 60)
        record = _record(tmp_path)
        assert Counter(r["rcpt"] for r in record) == Counter(emails)
        assert max(r["concurrent"] for r in record) == 1

    asyncio.run(
        _with_world(tmp_path, _world(), None, body, worker_batch_size=10, worker_concurrency=1)
    )
