"""Relaying through smarthosts: failover, SMTP AUTH, quota — against real SMTP servers."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import select

from sendwell.app import open_app
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.service import create_campaign, start_campaign
from sendwell.clock import FrozenClock
from sendwell.config import Settings
from sendwell.delivery.shaping import parse_shaping
from sendwell.errors import ConfigError
from sendwell.store.schema import outbox

# aiosmtpd warns when a server takes AUTH without TLS; on loopback in a test that is the
# point, and with warnings as errors the warning would break the server mid-session.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
    pytest.mark.filterwarnings("ignore:auth_required == True but auth_require_tls == False"),
    pytest.mark.filterwarnings("ignore:Session.login_data is deprecated"),
]


class Relay:
    """An aiosmtpd smarthost that requires AUTH and remembers what it accepted."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str]]] = []
        self.logins: list[str] = []

    def authenticator(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"s3cret"
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # let aiosmtpd send the 235/535

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 queued"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run(tmp_path: Path, relay: Relay, shaping: str, emails: list[str]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            relay, auth_required=True, auth_require_tls=False, authenticator=relay.authenticator
        ),
        "127.0.0.1",
        0,
    )
    port = server.sockets[0].getsockname()[1]
    (tmp_path / "shaping.toml").write_text(
        shaping.replace("BACKUP_PORT", str(port)).replace("DEAD_PORT", str(_closed_port()))
    )
    clock = FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    settings = Settings().replace(
        data_dir=tmp_path / "data",
        secret_key="k",
        dns_resolver="127.0.0.1:9",
        helo_name="relay.test",
        shaping_file=str(tmp_path / "shaping.toml"),
        smtp_timeout=5,
    )
    app = open_app(settings, clock=clock, create=True)
    try:
        now = clock.now()
        with app.engine.begin() as conn:
            ml = create_list(conn, "L", now=now)
            add_subscribers(conn, [NewSubscriber(e) for e in emails], mailing_list=ml, now=now)
            c = create_campaign(
                conn,
                name="c",
                subject="s",
                from_email="n@sender.example",
                from_name="",
                html_template="<p>x</p>",
                text_template=None,
                list_ids=[ml.id],
                now=now,
            )
            start_campaign(conn, c.id, now=now)
        timer = _FakeTimer()
        await app.worker(timer=timer, sleep=timer.sleep).drain()
        with app.engine.connect() as conn:
            rows = {r.email: r for r in conn.execute(select(outbox))}
        return {"rows": rows, "elapsed": timer.value - 1000.0}
    finally:
        app.close()
        server.close()
        await server.wait_closed()


class _FakeTimer:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value

    async def sleep(self, seconds: float) -> None:
        self.value += seconds
        await asyncio.sleep(0)


SHAPING = """
[[relay]]
name = "primary"
host = "127.0.0.1"
port = DEAD_PORT
tls = "off"
[[relay]]
name = "backup"
host = "127.0.0.1"
port = BACKUP_PORT
tls = "off"
username = "sender@example.com"
password_env = "RELAY_TEST_PASSWORD"
max_message_rate = "10/s"
[[source]]
name = "via-esp"
relays = ["primary", "backup"]
"""


def test_mail_fails_over_to_the_next_relay_and_authenticates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAY_TEST_PASSWORD", "s3cret")
    relay = Relay()
    # Any domains at all: a relay needs no MX lookups (the DNS server here does not exist).
    emails = [f"r{i}@domain{i % 7}.example" for i in range(20)]
    result = asyncio.run(_run(tmp_path, relay, SHAPING, emails))
    assert sorted(r for _, rcpts in relay.received for r in rcpts) == sorted(emails)
    assert set(relay.logins) == {"sender@example.com"}
    assert all(row.status == "delivered" for row in result["rows"].values())
    # The relay's quota (10/s) paced the 20 messages over at least ~1.9 s.
    assert result["elapsed"] >= 1.8


def test_refused_credentials_defer_instead_of_bouncing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAY_TEST_PASSWORD", "wrong")
    relay = Relay()
    result = asyncio.run(_run(tmp_path, relay, SHAPING, ["a@x.example", "b@y.example"]))
    assert relay.received == []
    for row in result["rows"].values():
        assert row.status == "deferred"
        assert "authentication failed" in row.last_reply


def test_relay_configuration_errors_name_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELAY_TEST_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match=r"relay\[0\]\.password_env: environment variable"):
        parse_shaping(
            '[[relay]]\nname = "x"\nhost = "h"\npassword_env = "RELAY_TEST_PASSWORD"\n', "s.toml"
        )
    with pytest.raises(
        ConfigError, match=r"s\.toml:5: source\[0\]\.relays: no \[\[relay\]\] named"
    ):
        parse_shaping(
            '[[relay]]\nname = "x"\nhost = "h"\n[[source]]\nrelays = ["y"]\nname = "s"\n', "s.toml"
        )
