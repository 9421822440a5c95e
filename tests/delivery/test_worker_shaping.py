"""The engine under shaping, through the sandbox: the sandbox record is the judge.

Time-dependent behaviour (throttle waits, suspensions, provider rate windows) runs on a
fake timer that the worker's injected ``sleep`` advances, shared with the sandbox's MX
servers, so minutes of pacing play out in milliseconds without real waiting. The one
test about measured wall-clock rates uses real time.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sendwell.app import App, open_app
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.service import campaign_status, create_campaign, start_campaign
from sendwell.clock import FrozenClock
from sendwell.config import Settings
from sendwell.sandbox import (
    MxHost,
    ProviderProfile,
    RateLimit,
    ReplyTexts,
    Sandbox,
    SandboxConfig,
)
from sendwell.store.schema import outbox

STORM_TEXT = (
    "421-4.7.28 Our system has detected an unusual rate of unsolicited mail originating\n"
    "421 4.7.28 from your IP address. Mail has been temporarily rate limited."
)


class FakeTimer:
    """Seconds that pass only when the worker sleeps or the test says so."""

    def __init__(self) -> None:
        self.value = 10_000.0

    def __call__(self) -> float:
        return self.value

    async def sleep(self, seconds: float) -> None:
        self.value += seconds
        await asyncio.sleep(0)


def _provider(name: str, ip: str, **kw: Any) -> ProviderProfile:
    return ProviderProfile(
        name=name,
        domains=(f"{name}.sandbox",),
        mx_hosts=(MxHost(10, f"mx.l.{name}.sandbox", ip),),
        **kw,
    )


async def _run(
    tmp_path: Path,
    providers: tuple[ProviderProfile, ...],
    shaping: str,
    body: Callable[[App, Sandbox, FrozenClock, FakeTimer], Awaitable[None]],
    *,
    fake_time: bool = True,
) -> None:
    timer = FakeTimer()
    world = SandboxConfig(
        providers=providers, dns_records=(), dns_faults={}, dns_port=0, smtp_port=0
    )
    sandbox = Sandbox(
        world,
        record_path=tmp_path / "record.jsonl",
        keep_messages=False,
        **({"now": timer} if fake_time else {}),
    )
    (tmp_path / "shaping.toml").write_text(shaping)
    clock = FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    async with sandbox:
        host, port = sandbox.dns_address
        settings = Settings().replace(
            data_dir=tmp_path / "data",
            dns_resolver=f"{host}:{port}",
            smtp_port=sandbox.smtp_port,
            helo_name="test.localhost",
            secret_key="k",
            shaping_file=str(tmp_path / "shaping.toml"),
        )
        app = open_app(settings, clock=clock, create=True)
        try:
            await body(app, sandbox, clock, timer)
        finally:
            app.close()


def _seed(app: App, emails: list[str], pool: str = "default") -> int:
    now = app.clock.now()
    with app.engine.begin() as conn:
        ml = create_list(conn, "L", now=now)
        add_subscribers(conn, [NewSubscriber(e) for e in emails], mailing_list=ml, now=now)
        c = create_campaign(
            conn,
            name="c",
            subject="s",
            from_email="news@sender.sandbox",
            from_name="",
            html_template="<p>hi</p>",
            text_template=None,
            list_ids=[ml.id],
            now=now,
            pool=pool,
        )
        start_campaign(conn, c.id, now=now)
    return c.id


def _record(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (tmp_path / "record.jsonl").read_text().splitlines()]


def _at(row: dict[str, Any]) -> float:
    return datetime.fromisoformat(row["at"]).timestamp()


@pytest.mark.slow
def test_site_rate_and_connection_limit_hold_and_other_sites_are_not_held_up(
    tmp_path: Path,
) -> None:
    shaping = """
[default]
connection_limit = 10
max_message_rate = "100000/s"
[source_default]
max_message_rate = "100000/s"
[[provider]]
name = "slowmail"
match = [".slow.sandbox"]
connection_limit = 3
max_message_rate = "40/s"
"""
    slow = [f"s{i}@slow.sandbox" for i in range(120)]
    fast = [f"f{i}@fast.sandbox" for i in range(120)]

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, timer: FakeTimer) -> None:
        _seed(app, slow + fast)
        await app.worker().drain()  # real time: the record's timestamps are the judge
        record = _record(tmp_path)
        assert Counter(r["rcpt"] for r in record) == Counter(slow + fast)
        slow_rows = sorted((r for r in record if r["provider"] == "slow"), key=_at)
        fast_rows = sorted((r for r in record if r["provider"] == "fast"), key=_at)
        assert max(r["concurrent"] for r in slow_rows) <= 3
        times = [_at(r) for r in slow_rows]
        # GCRA at 40/s: any one-second window holds at most 40 (+1 for the edge).
        worst = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
        assert worst <= 41, worst
        assert times[-1] - times[0] >= (120 - 41) / 40  # it really was paced
        # The unthrottled site finished while the slow one was still sending.
        assert _at(fast_rows[-1]) < times[len(times) // 2]

    asyncio.run(
        _run(
            tmp_path,
            (_provider("slow", "127.0.9.1"), _provider("fast", "127.0.9.2")),
            shaping,
            body,
            fake_time=False,
        )
    )


def test_a_421_4_7_28_storm_triggers_the_gmail_rule_and_delivery_recovers(
    tmp_path: Path,
) -> None:
    shaping = """
[default]
connection_limit = 4
max_message_rate = "100/s"
[source_default]
max_message_rate = "100000/s"
[[provider]]
name = "gmail"
match = [".google.sandbox"]
connection_limit = 4
[[provider.automation]]
regex = "4\\\\.7\\\\.28"
action = "suspend"
duration = "10m"
then_connection_limit = 1
ramp_every = "2m"
"""
    gmail = ProviderProfile(
        name="gmail",
        domains=("gmail.sandbox",),
        mx_hosts=(MxHost(5, "gmail-smtp-in.l.google.sandbox", "127.0.9.3"),),
        rate_limit=RateLimit(messages_per_minute=50),
        reply_texts=ReplyTexts(rate_limited=STORM_TEXT),
    )
    emails = [f"r{i}@gmail.sandbox" for i in range(80)]

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, timer: FakeTimer) -> None:
        campaign_id = _seed(app, emails)
        worker = app.worker(timer=timer, sleep=timer.sleep, rng=random.Random(1))
        await worker.drain()
        first = _record(tmp_path)
        # The provider's window filled (sessions in flight may land a message or two more),
        # then it answered 421 4.7.28.
        assert 50 <= len(first) <= 54
        actions = worker.board.active(next(iter(worker.board.actions)), timer())
        assert [a.rule.provider for a in actions] == ["gmail"]
        assert actions[0].until == pytest.approx(actions[0].started + 600)
        with app.engine.connect() as conn:
            rows = conn.execute(select(outbox)).all()
        deferred = [r for r in rows if r.status == "deferred"]
        assert deferred and all(r.last_code == 421 and "4.7.28" in r.last_reply for r in deferred)
        queued = [r for r in rows if r.status == "queued"]
        # Everything not yet tried went back to the scheduled queue until the suspension ends.
        assert queued and all(
            r.next_attempt_at >= clock.now() + timedelta(seconds=590) for r in queued
        )
        # Ten minutes later (for sendwell and for the provider), delivery resumes.
        timer.value += 11 * 60
        clock.advance(11 * 60)
        await worker.drain()
        record = _record(tmp_path)
        assert Counter(r["rcpt"] for r in record) == Counter(emails)
        after = record[len(first) :]
        assert max(r["concurrent"] for r in after) == 1  # resumed on one connection
        with app.engine.connect() as conn:
            assert campaign_status(conn, campaign_id).counts["delivered"] == 80

    asyncio.run(_run(tmp_path, (gmail,), shaping, body))


def test_try_again_in_is_honoured(tmp_path: Path) -> None:
    shaping = (
        '[default]\nmax_message_rate = "100000/s"\n'
        '[source_default]\nmax_message_rate = "100000/s"\n'
    )
    full = _provider(
        "quota",
        "127.0.9.4",
        mailbox_full="^full",
        reply_texts=ReplyTexts(
            mailbox_full="452 4.2.2 Mailbox full, please try again in 17 minutes"
        ),
    )

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, timer: FakeTimer) -> None:
        _seed(app, ["full1@quota.sandbox", "ok@quota.sandbox"])
        await app.worker(timer=timer, sleep=timer.sleep).drain()
        with app.engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.email == "full1@quota.sandbox")).one()
        assert row.status == "deferred"
        delay = (row.next_attempt_at - clock.now()).total_seconds()
        assert 17 * 60 <= delay <= 17 * 60 * 1.25

    asyncio.run(_run(tmp_path, (full,), shaping, body))


def test_pool_sources_bind_their_addresses_with_weights(tmp_path: Path) -> None:
    shaping = """
[default]
max_message_rate = "100000/s"
[source_default]
max_message_rate = "100000/s"
[[source]]
name = "light"
address = "127.0.0.2"
pool = "main"
weight = 1
[[source]]
name = "heavy"
address = "127.0.0.3"
pool = "main"
weight = 3
[[source]]
name = "other"
address = "127.0.0.4"
pool = "elsewhere"
"""
    emails = [f"p{i}@pools.sandbox" for i in range(400)]

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, timer: FakeTimer) -> None:
        _seed(app, emails, pool="main")
        await app.worker(timer=timer, sleep=timer.sleep, rng=random.Random(5)).drain()
        peers = Counter(r["peer"] for r in _record(tmp_path))
        assert set(peers) == {"127.0.0.2", "127.0.0.3"}
        assert 60 <= peers["127.0.0.2"] <= 140
        assert peers["127.0.0.2"] + peers["127.0.0.3"] == 400

    asyncio.run(_run(tmp_path, (_provider("pools", "127.0.9.5"),), shaping, body))


@pytest.mark.slow
def test_pause_and_resume_take_effect_within_seconds_on_a_running_worker(
    tmp_path: Path,
) -> None:
    from sendwell.campaigns.service import pause_campaign, resume_campaign

    shaping = """
[default]
connection_limit = 2
max_message_rate = "25/s"
[source_default]
max_message_rate = "100000/s"
"""
    emails = [f"p{i}@steady.sandbox" for i in range(150)]

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, timer: FakeTimer) -> None:
        campaign_id = _seed(app, emails)
        stop = asyncio.Event()
        worker = app.worker()  # real time: this is about wall-clock reaction
        task = asyncio.create_task(worker.run(stop=stop))

        async def until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
            deadline = asyncio.get_running_loop().time() + timeout
            while not condition():
                assert asyncio.get_running_loop().time() < deadline, f"timed out: {what}"
                await asyncio.sleep(0.02)

        def received() -> int:
            path = tmp_path / "record.jsonl"
            return len(path.read_text().splitlines()) if path.exists() else 0

        await until(lambda: received() >= 30, "30 deliveries")
        with app.engine.begin() as conn:
            pause_campaign(conn, campaign_id)
        paused_at = asyncio.get_running_loop().time()
        # Within a second the worker notices; at most the messages on the wire land.
        await asyncio.sleep(1.0)
        settled = received()
        await asyncio.sleep(1.5)
        assert received() == settled, "messages kept going out after the pause"
        assert settled < 30 + 25 * 1.0 + 2  # no more than a second's worth after pausing
        with app.engine.begin() as conn:
            resume_campaign(conn, campaign_id, now=clock.now())
        await until(lambda: received() >= len(emails), "every recipient after resuming")
        stop.set()
        await task
        assert asyncio.get_running_loop().time() - paused_at < 30
        counts = Counter(r["rcpt"] for r in _record(tmp_path))
        assert counts == Counter(emails)  # nobody skipped, nobody twice
        with app.engine.connect() as conn:
            assert campaign_status(conn, campaign_id).counts["delivered"] == len(emails)

    asyncio.run(_run(tmp_path, (_provider("steady", "127.0.9.6"),), shaping, body, fake_time=False))


def test_a_slow_connect_is_not_taken_for_a_throttle_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Connecting takes 3 s for three sessions (a slow TLS handshake, say) while a fourth
    # sends on. The others must not read their connect
    # time as a rate wait: over MAX_INLINE_WAIT it would hand the whole queue back.
    from sendwell.delivery import worker as worker_module
    from sendwell.delivery.smtp import SmtpConnection

    shaping = (
        '[default]\nconnection_limit = 4\nmax_message_rate = "100000/s"\n'
        'max_connection_rate = "100000/s"\n'
        '[source_default]\nmax_message_rate = "100000/s"\n'
    )
    slow = _provider("slow", "127.0.9.5")

    async def body(app: App, sandbox: Sandbox, clock: FrozenClock, timer: FakeTimer) -> None:
        connect, send = worker_module.open_session, SmtpConnection.send
        connects = sends = 0
        progress = asyncio.Condition()

        async def counting_send(self: SmtpConnection, *args: Any, **kwargs: Any) -> Any:
            nonlocal sends
            reply = await send(self, *args, **kwargs)
            async with progress:
                sends += 1
                progress.notify_all()
            return reply

        async def slow_connect(*args: Any, **kwargs: Any) -> Any:
            nonlocal connects
            connects += 1
            number = connects
            session = await connect(*args, **kwargs)
            if 1 < number <= 4:  # the other three first sessions
                timer.value += 3.0  # the handshake's seconds pass, and meanwhile
                start = sends  # the first session sends on, at the new time
                async with progress:
                    await progress.wait_for(lambda: sends >= min(start + 5, len(emails)))
            return session

        monkeypatch.setattr(worker_module, "open_session", slow_connect)
        monkeypatch.setattr(SmtpConnection, "send", counting_send)
        emails = [f"r{i}@slow.sandbox" for i in range(400)]
        campaign_id = _seed(app, emails)
        await app.worker(timer=timer, sleep=timer.sleep).drain()
        assert connects >= 4
        with app.engine.connect() as conn:
            assert campaign_status(conn, campaign_id).counts["delivered"] == 400

    asyncio.run(_run(tmp_path, (slow,), shaping, body))
