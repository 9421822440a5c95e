"""One-off delivery: the engine's routes (MX or relays) for a few messages, now."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from sendwell.clock import FrozenClock
from sendwell.delivery.jobs import PreparedMessage
from sendwell.delivery.mx import MxResolver
from sendwell.delivery.oneoff import deliver_now
from sendwell.delivery.shaping import parse_shaping
from sendwell.sandbox import MxHost, ProviderProfile, Sandbox, SandboxConfig

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DIRECT = parse_shaping("[default]\nconnection_limit = 2\n", "direct.toml")


def _world() -> SandboxConfig:
    provider = ProviderProfile(
        name="alpha", domains=("alpha.sandbox",),
        mx_hosts=(MxHost(10, "mx.alpha.sandbox", "127.0.8.1"),), unknown_mailbox="^unknown",
    )  # fmt: skip
    return SandboxConfig(providers=(provider,), dns_port=0, smtp_port=0)


def _message(rcpt: str) -> PreparedMessage:
    data = f"From: a@sender.example\r\nTo: {rcpt}\r\nSubject: t\r\n\r\nbody\r\n".encode()
    return PreparedMessage("bounce@sender.example", rcpt, data)


def test_direct_to_mx_with_each_outcome() -> None:
    async def body() -> None:
        sandbox = Sandbox(_world(), keep_messages=True)
        async with sandbox:
            resolver = MxResolver(sandbox.dns_address, clock=FrozenClock(NOW), timeout=2)
            results = await deliver_now(
                [_message("ann@alpha.sandbox"), _message("unknown@alpha.sandbox"),
                 _message("x@no-such-domain.sandbox")],
                shaping=DIRECT, pool="default", resolver=resolver, smtp_port=sandbox.smtp_port,
                helo_name="test.localhost", timeout=5, now=NOW,
            )  # fmt: skip
            ok, unknown, nodomain = results
            assert (ok.ok, ok.code, ok.host) == (True, 250, "mx.alpha.sandbox")
            assert (unknown.ok, unknown.code) == (False, 550)
            assert "5.1.1" in unknown.reply and unknown.host == "mx.alpha.sandbox"
            assert (nodomain.ok, nodomain.host) == (False, None)
            assert "no-such-domain.sandbox" in nodomain.reply
            assert [m.rcpt for m in sandbox.messages] == ["ann@alpha.sandbox"]
            assert sandbox.messages[0].mail_from == "bounce@sender.example"

    asyncio.run(body())


class _Relay:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 2.0.0 relayed"


def test_a_relaying_source_hands_every_message_to_its_relay() -> None:
    async def body() -> None:
        relay = _Relay()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(relay), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        shaping = parse_shaping(
            f'[[relay]]\nname = "esp"\nhost = "127.0.0.1"\nport = {port}\ntls = "off"\n'
            '[[source]]\nname = "via-esp"\nrelays = ["esp"]\n',
            "relay.toml",
        )
        resolver: Any = object()  # never asked: relays need no MX lookup
        try:
            results = await deliver_now(
                [_message("ann@anywhere.example")], shaping=shaping, pool="default",
                resolver=resolver, smtp_port=25, helo_name="test.localhost", timeout=5, now=NOW,
            )  # fmt: skip
        finally:
            server.close()
            await server.wait_closed()
        assert [(r.ok, r.code, r.reply, r.host) for r in results] == [
            (True, 250, "2.0.0 relayed", "127.0.0.1")
        ]
        assert relay.received == [("bounce@sender.example", ["ann@anywhere.example"])]

    asyncio.run(body())
