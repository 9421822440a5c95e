"""One simulated MX server driven by smtplib, the way any SMTP client would talk to it."""

from __future__ import annotations

import asyncio
import json
import smtplib
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sendwell.errors import SandboxError
from sendwell.sandbox import (
    RECORD_KEYS,
    MxHost,
    MxServer,
    ProviderProfile,
    RateLimit,
    RecordWriter,
    SandboxConfig,
)

if TYPE_CHECKING:
    from tests.sandbox.conftest import FakeClock

MESSAGE = (
    b"From: sender@shop.example\r\n"
    b"To: alice@test.sandbox\r\n"
    b"Subject: hello\r\n"
    b"Message-ID: <abc.123@shop.example>\r\n"
    b"\r\n"
    b"Hi Alice.\r\n"
)


def profile(subnet: str, **behaviour: Any) -> ProviderProfile:
    return ProviderProfile(
        name="testmail",
        domains=("test.sandbox",),
        mx_hosts=(MxHost(10, "mx.test.sandbox", f"{subnet}.1"),),
        **behaviour,
    )


def serve(
    prof: ProviderProfile,
    client: Callable[[int], Any],
    clock: Callable[[], float] = time.monotonic,
    record: Path | None = None,
) -> MxServer:
    """Run ``client(port)`` in a thread against a started server; returns the server."""
    server_box: list[MxServer] = []

    async def main() -> None:
        writer = RecordWriter(record) if record else None
        server = MxServer(prof, prof.mx_hosts[0], keep_messages=True, record=writer, now=clock)
        server_box.append(server)
        async with server:
            await asyncio.to_thread(client, server.address[1])
        if writer:
            writer.close()

    asyncio.run(main())
    return server_box[0]


def connect(prof: ProviderProfile, port: int) -> smtplib.SMTP:
    smtp = smtplib.SMTP(prof.mx_hosts[0].ip, port, timeout=5)
    smtp.ehlo("client.example")
    return smtp


def test_accepts_and_records_each_recipient(subnet: str, tmp_path: Path) -> None:
    prof = profile(subnet)
    record = tmp_path / "record.jsonl"

    def client(port: int) -> None:
        with connect(prof, port) as smtp:
            assert smtp.has_extn("pipelining")
            assert smtp.has_extn("smtputf8")
            refused = smtp.sendmail(
                "bounces@shop.example", ["alice@test.sandbox", "Bob@TEST.sandbox"], MESSAGE
            )
            assert refused == {}

    server = serve(prof, client, record=record)
    assert [m.rcpt for m in server.messages] == ["alice@test.sandbox", "Bob@TEST.sandbox"]
    first = server.messages[0]
    assert first.data == MESSAGE
    assert (first.provider, first.mx, first.peer) == ("testmail", "mx.test.sandbox", "127.0.0.1")
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(lines) == 2
    assert list(lines[0]) == list(RECORD_KEYS)
    assert lines[0] == {
        "at": first.at.isoformat(timespec="microseconds"),
        "provider": "testmail",
        "mx": "mx.test.sandbox",
        "peer": "127.0.0.1",
        "mail_from": "bounces@shop.example",
        "rcpt": "alice@test.sandbox",
        "message_id": "<abc.123@shop.example>",
        "size": len(MESSAGE),
        "session": "testmail-1",
        "concurrent": 1,
    }
    assert lines[0]["at"].endswith("+00:00")
    assert len(lines[0]["at"].split(".")[1]) == len("123456+00:00")


def test_unknown_and_full_mailboxes_and_foreign_domains(subnet: str) -> None:
    gmail = SandboxConfig.load().providers[0]
    prof = profile(
        subnet,
        unknown_mailbox="^(nobody|unknown)",
        mailbox_full="^full",
        reply_texts=gmail.reply_texts,
    )

    def client(port: int) -> None:
        with connect(prof, port) as smtp:
            smtp.mail("bounces@shop.example")
            code, text = smtp.rcpt("nobody.here@test.sandbox")
            assert code == 550
            assert text.startswith(b"5.1.1 The email account that you tried to reach")
            assert b"NoSuchUser" in text  # all lines of the multi-line reply arrived
            code, text = smtp.rcpt("full-box@test.sandbox")
            assert (code, text[:5]) == (452, b"4.2.2")
            code, text = smtp.rcpt("alice@elsewhere.example")
            assert (code, text[:5]) == (550, b"5.7.1")
            assert smtp.rcpt("alice@test.sandbox")[0] == 250

    serve(prof, client)


def test_greylisting_defers_until_the_delay_has_passed(subnet: str, clock: FakeClock) -> None:
    prof = profile(subnet, greylist_seconds=300)

    def client(port: int) -> None:
        with connect(prof, port) as smtp:
            smtp.mail("bounces@shop.example")
            code, text = smtp.rcpt("alice@test.sandbox")
            assert (code, text[:5]) == (451, b"4.7.1")
            clock.advance(299)
            assert smtp.rcpt("alice@test.sandbox")[0] == 451
            assert smtp.rcpt("bob@test.sandbox")[0] == 451  # another triplet starts afresh
            clock.advance(1)
            assert smtp.rcpt("alice@test.sandbox")[0] == 250
            assert smtp.rcpt("bob@test.sandbox")[0] == 451

    serve(prof, client, clock)


def test_rate_limit_replies_421_and_closes_then_recovers(subnet: str, clock: FakeClock) -> None:
    gmail = SandboxConfig.load().providers[0]
    prof = profile(
        subnet, rate_limit=RateLimit(messages_per_minute=2), reply_texts=gmail.reply_texts
    )

    def client(port: int) -> None:
        with connect(prof, port) as smtp:
            smtp.sendmail("b@shop.example", ["a1@test.sandbox"], MESSAGE)
            clock.advance(30)
            smtp.sendmail("b@shop.example", ["a2@test.sandbox"], MESSAGE)
            code, text = smtp.mail("b@shop.example")
            assert code == 421
            assert text.startswith(b"4.7.28 Our system has detected an unusual rate")
            with pytest.raises(smtplib.SMTPServerDisconnected):
                smtp.noop()
        clock.advance(31)  # the first message left the 60 s window
        with connect(prof, port) as smtp:
            smtp.sendmail("b@shop.example", ["a3@test.sandbox"], MESSAGE)
            assert smtp.mail("b@shop.example")[0] == 421

    server = serve(prof, client, clock)
    assert [m.rcpt for m in server.messages] == [f"a{i}@test.sandbox" for i in (1, 2, 3)]


def test_connection_limit_rejects_at_connect(subnet: str) -> None:
    prof = profile(subnet, rate_limit=RateLimit(max_connections=1))

    def client(port: int) -> None:
        with connect(prof, port) as first:
            with pytest.raises(smtplib.SMTPConnectError) as refused:
                smtplib.SMTP(prof.mx_hosts[0].ip, port, timeout=5)
            assert refused.value.smtp_code == 421
            assert b"Too many concurrent SMTP connections" in refused.value.smtp_error
            assert first.noop()[0] == 250
        # The rejected connection did not count: a new one gets in once the first is gone.
        for _ in range(50):
            try:
                with connect(prof, port) as again:
                    assert again.noop()[0] == 250
                return
            except smtplib.SMTPConnectError:
                time.sleep(0.01)  # the server has not yet seen the first one close
        raise AssertionError("connection slot never freed")

    serve(prof, client)


def test_drop_during_data_then_success_on_retry(subnet: str) -> None:
    prof = profile(subnet, drop="^flaky", drop_times=2)

    def client(port: int) -> None:
        for _ in range(2):
            with pytest.raises(smtplib.SMTPServerDisconnected):
                with connect(prof, port) as smtp:
                    smtp.sendmail("b@shop.example", ["flaky@test.sandbox"], MESSAGE)
        with connect(prof, port) as smtp:
            assert smtp.sendmail("b@shop.example", ["flaky@test.sandbox"], MESSAGE) == {}

    server = serve(prof, client)
    assert [m.rcpt for m in server.messages] == ["flaky@test.sandbox"]


def test_slow_replies(subnet: str) -> None:
    prof = profile(subnet, slow_ms=150)

    def client(port: int) -> None:
        with connect(prof, port) as smtp:
            started = time.monotonic()
            assert smtp.noop()[0] == 250
            assert time.monotonic() - started >= 0.15

    serve(prof, client)


def test_sessions_and_concurrency_are_counted_per_provider(subnet: str) -> None:
    prof = profile(subnet)

    def client(port: int) -> None:
        with connect(prof, port) as idle, connect(prof, port) as busy:
            busy.sendmail("b@shop.example", ["alice@test.sandbox"], MESSAGE)
            idle.noop()

    server = serve(prof, client)
    (message,) = server.messages
    assert message.session == "testmail-2"
    assert message.concurrent == 2


def test_address_in_use_is_a_sandbox_error(subnet: str) -> None:
    prof = profile(subnet)

    async def main() -> None:
        async with MxServer(prof, prof.mx_hosts[0]) as first:
            ip, port = first.address
            again = MxServer(replace(prof), prof.mx_hosts[0], port)
            with pytest.raises(SandboxError, match=rf"cannot listen on {ip}:{port}"):
                await again.start()

    asyncio.run(main())
