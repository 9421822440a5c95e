"""The SMTP client against real servers on loopback.

Two kinds of server: aiosmtpd (a real, independent SMTP implementation) with handlers that
return chosen replies, and a small scripted server written here for behaviour aiosmtpd
cannot show (no PIPELINING, strict pipelining, silence, drops, malformed replies).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from sendwell.delivery.smtp import Reply, SmtpConnection
from sendwell.errors import PermanentFailure, TemporaryFailure
from tests.conftest import require_tool

HELO = "out1.sender.test"
MESSAGE = b"From: a@sender.test\r\nTo: b@rcpt.test\r\nSubject: hi\r\n\r\nHello.\r\n"


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 10))  # type: ignore[arg-type]


# -- aiosmtpd -------------------------------------------------------------------------


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    content: bytes
    peer: Any


@dataclass
class Handler:
    """aiosmtpd handler replying as told; records what was delivered."""

    pipelining: bool = True
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    delivered: list[Delivered] = field(default_factory=list)
    peers: list[Any] = field(default_factory=list)
    rsets: int = 0

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        self.peers.append(session.peer)
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.rsets += 1
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply is not None:
            return self.data_reply
        assert envelope.mail_from is not None
        assert envelope.original_content is not None
        self.delivered.append(
            Delivered(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                list(envelope.mail_options),
                envelope.original_content,
                session.peer,
            )
        )
        return "250 2.0.0 queued as X"


@contextlib.asynccontextmanager
async def aiosmtpd_server(handler: Handler, **options: Any) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mx.rcpt.test", **options), "127.0.0.1", 0
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def connect(port: int, **kwargs: Any) -> SmtpConnection:
    kwargs.setdefault("timeout", 5.0)
    return await SmtpConnection.open("127.0.0.1", port, helo_name=HELO, **kwargs)


# -- scripted server ------------------------------------------------------------------


@dataclass
class Script:
    """A raw SMTP server: replies chosen per command, and a record of what arrived.

    ``strict_pipelining`` withholds replies until the end of an RFC 2920 command group
    (DATA, RSET, QUIT, NOOP, EHLO): a lockstep client would wait forever.
    ``reply`` may return None to stay silent, or "DROP" to close the connection.
    """

    ehlo_lines: tuple[str, ...] = ("SIZE 1000000", "8BITMIME")
    strict_pipelining: bool = False
    greeting: str = "220 raw.test ESMTP"
    reply: Callable[[str], str | None] | None = None
    drop_in_data: bool = False
    commands: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    multi_command_chunks: int = 0
    peers: list[Any] = field(default_factory=list)

    def default_reply(self, command: str) -> str | None:
        verb = command.split(" ", 1)[0].upper().split(":")[0]
        if verb == "EHLO":
            lines = ["raw.test", *self.ehlo_lines]
            return "\r\n".join(
                f"250{'-' if i < len(lines) - 1 else ' '}{line}" for i, line in enumerate(lines)
            )
        if verb == "DATA":
            return "354 go ahead"
        if verb == "QUIT":
            return "221 bye"
        return "250 OK"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.peers.append(writer.get_extra_info("peername"))
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(self.greeting.encode() + b"\r\n")
        buffer = b""
        pending: list[str] = []
        in_data = False
        body = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buffer += chunk
            if in_data:
                if self.drop_in_data:
                    return
                body += buffer
                buffer = b""
                if body.endswith(b"\r\n.\r\n") or body == b".\r\n":
                    self.bodies.append(body)
                    body = b""
                    in_data = False
                    writer.write(b"250 2.0.0 accepted\r\n")
                continue
            lines_in_chunk = 0
            while b"\r\n" in buffer and not in_data:
                raw, buffer = buffer.split(b"\r\n", 1)
                command = raw.decode()
                self.commands.append(command)
                lines_in_chunk += 1
                answer = (self.reply or self.default_reply)(command)
                if answer is None:
                    answer = self.default_reply(command)
                if answer == "SILENT":
                    continue
                if answer == "DROP":
                    return
                pending.append(answer)
                verb = command.split(" ", 1)[0].upper()
                group_end = verb in ("DATA", "RSET", "QUIT", "NOOP", "EHLO", "HELO")
                if not self.strict_pipelining or group_end:
                    writer.write("".join(p + "\r\n" for p in pending).encode())
                    pending.clear()
                if verb == "DATA" and answer.startswith("354"):
                    in_data = True
                    body, buffer = buffer, b""
            if lines_in_chunk > 1:
                self.multi_command_chunks += 1
            if in_data and body.endswith(b"\r\n.\r\n"):
                self.bodies.append(body)
                body = b""
                in_data = False
                writer.write(b"250 2.0.0 accepted\r\n")


@contextlib.asynccontextmanager
async def scripted_server(script: Script) -> AsyncIterator[int]:
    server = await asyncio.start_server(script.serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


# -- Reply ----------------------------------------------------------------------------


def test_reply_enhanced_code_and_str() -> None:
    reply = Reply(421, "4.7.28 Gmail has detected\nan unusual rate")
    assert reply.enhanced == "4.7.28"
    assert str(reply) == "421 4.7.28 Gmail has detected\nan unusual rate"
    assert Reply(250, "OK").enhanced is None
    assert Reply(250, "2.0.0").enhanced == "2.0.0"
    assert Reply(550, "5.1.1x no").enhanced is None


# -- delivery -------------------------------------------------------------------------


def test_delivers_exact_bytes_with_dot_stuffing_round_trip() -> None:
    body = (
        b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\nmiddle . dot\r\n.\r\n"
        b"last line without CRLF"
    )

    async def scenario() -> None:
        handler = Handler()
        async with aiosmtpd_server(handler) as port:
            conn = await connect(port)
            reply = await conn.send("bounce+1@sender.test", "bob@rcpt.test", body)
            await conn.close()
        assert reply.code == 250
        assert reply.text == "2.0.0 queued as X"
        assert reply.enhanced == "2.0.0"
        [got] = handler.delivered
        assert got.mail_from == "bounce+1@sender.test"
        assert got.rcpt_tos == ["bob@rcpt.test"]
        assert got.content == body + b"\r\n"  # only the missing final CRLF is added

    run(scenario())


def test_message_starting_with_dot_and_exact_crlf_body() -> None:
    async def scenario() -> None:
        handler = Handler()
        async with aiosmtpd_server(handler) as port, await connect(port) as conn:
            await conn.send("a@sender.test", "b@rcpt.test", b".x\r\n")
            await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
        assert [d.content for d in handler.delivered] == [b".x\r\n", MESSAGE]

    run(scenario())


def test_connection_reused_for_50_messages() -> None:
    async def scenario() -> None:
        handler = Handler()
        async with aiosmtpd_server(handler) as port:
            conn = await connect(port)
            assert conn.supports_pipelining
            for i in range(50):
                await conn.send(f"bounce+{i}@sender.test", f"user{i}@rcpt.test", MESSAGE)
            assert conn.messages_sent == 50
            assert conn.is_usable
            await conn.close()
            assert not conn.is_usable
            await conn.close()  # idempotent
        assert len(handler.peers) == 1  # one EHLO: one connection
        assert [d.rcpt_tos for d in handler.delivered] == [
            [f"user{i}@rcpt.test"] for i in range(50)
        ]

    run(scenario())


def test_extensions_parsed() -> None:
    async def scenario() -> None:
        server = aiosmtpd_server(Handler(), data_size_limit=12345)
        async with server as port, await connect(port) as conn:
            assert conn.extensions["SIZE"] == "12345"
            assert conn.max_size == 12345
            assert conn.supports_8bitmime
            assert not conn.supports_smtputf8
            assert "HELP" in conn.extensions

    run(scenario())


def test_pipelining_sends_envelope_in_one_group() -> None:
    # The server answers nothing until DATA arrives: only a pipelining client gets through.
    script = Script(ehlo_lines=("PIPELINING", "SIZE 0"), strict_pipelining=True)

    async def scenario() -> None:
        async with scripted_server(script) as port, await connect(port) as conn:
            assert conn.supports_pipelining
            assert conn.max_size is None  # SIZE 0 means no fixed limit
            for _ in range(3):
                await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
        assert len(script.bodies) == 3
        assert script.multi_command_chunks >= 3

    run(scenario())


def test_lockstep_without_pipelining() -> None:
    script = Script(ehlo_lines=("SIZE 1000000",))

    async def scenario() -> None:
        async with scripted_server(script) as port, await connect(port) as conn:
            assert not conn.supports_pipelining
            for _ in range(3):
                await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
        assert script.multi_command_chunks == 0  # never more than one command in flight
        assert script.bodies == [MESSAGE + b".\r\n"] * 3
        mails = [c for c in script.commands if c.startswith("MAIL")]
        assert mails == [f"MAIL FROM:<a@sender.test> SIZE={len(MESSAGE)}"] * 3

    run(scenario())


def test_rcpt_refusal_in_lockstep_resets_and_keeps_connection() -> None:
    def reply(command: str) -> str | None:
        return "550 5.1.1 no such user" if "nobody@" in command else None

    script = Script(ehlo_lines=(), reply=reply)

    async def scenario() -> None:
        async with scripted_server(script) as port, await connect(port) as conn:
            with pytest.raises(PermanentFailure) as caught:
                await conn.send("a@sender.test", "nobody@rcpt.test", MESSAGE)
            assert caught.value.code == 550
            assert conn.is_usable
            await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
        assert script.commands[1:] == [
            "MAIL FROM:<a@sender.test>",
            "RCPT TO:<nobody@rcpt.test>",
            "RSET",
            "MAIL FROM:<a@sender.test>",
            "RCPT TO:<b@rcpt.test>",
            "DATA",
            "QUIT",
        ]

    run(scenario())


@pytest.mark.parametrize("pipelining", [True, False])
def test_rcpt_550_raises_permanent_and_connection_stays_usable(pipelining: bool) -> None:
    async def scenario() -> None:
        handler = Handler(
            pipelining=pipelining,
            rcpt_replies={"nobody@rcpt.test": "550 5.1.1 The email account does not exist"},
        )
        async with aiosmtpd_server(handler) as port, await connect(port) as conn:
            with pytest.raises(PermanentFailure) as caught:
                await conn.send("a@sender.test", "nobody@rcpt.test", MESSAGE)
            assert caught.value.code == 550
            assert caught.value.reply == "5.1.1 The email account does not exist"
            assert conn.is_usable
            reply = await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
            assert reply.code == 250
        assert handler.rsets == 1
        assert [d.rcpt_tos for d in handler.delivered] == [["b@rcpt.test"]]

    run(scenario())


def test_rcpt_452_raises_temporary() -> None:
    async def scenario() -> None:
        handler = Handler(rcpt_replies={"full@rcpt.test": "452 4.2.2 Mailbox full"})
        async with aiosmtpd_server(handler) as port, await connect(port) as conn:
            with pytest.raises(TemporaryFailure) as caught:
                await conn.send("a@sender.test", "full@rcpt.test", MESSAGE)
            assert (caught.value.code, caught.value.reply) == (452, "4.2.2 Mailbox full")
            assert conn.is_usable
            await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)

    run(scenario())


@pytest.mark.parametrize(
    ("data_reply", "error"),
    [
        ("554 5.7.1 Message rejected as spam", PermanentFailure),
        ("451 4.3.0 try later", TemporaryFailure),
    ],
)
def test_final_data_reply_classified(data_reply: str, error: type[Exception]) -> None:
    async def scenario() -> None:
        handler = Handler(data_reply=data_reply)
        async with aiosmtpd_server(handler) as port, await connect(port) as conn:
            with pytest.raises(error):
                await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
            assert conn.is_usable
            assert conn.messages_sent == 0

    run(scenario())


def test_multiline_421_marks_connection_unusable() -> None:
    text = (
        "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail\r\n"
        "421 4.7.28 originating from your IP address. Try again in 10 minutes"
    )

    async def scenario() -> None:
        handler = Handler(rcpt_replies={"b@rcpt.test": text})
        async with aiosmtpd_server(handler) as port:
            conn = await connect(port)
            with pytest.raises(TemporaryFailure) as caught:
                await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
            assert caught.value.code == 421
            assert caught.value.reply == (
                "4.7.28 Gmail has detected an unusual rate of unsolicited mail\n"
                "4.7.28 originating from your IP address. Try again in 10 minutes"
            )
            assert not conn.is_usable
            with pytest.raises(TemporaryFailure, match="no longer usable"):
                await conn.send("a@sender.test", "c@rcpt.test", MESSAGE)
            await conn.close()
        assert handler.rsets == 0  # no RSET on a channel the server is closing

    run(scenario())


def test_421_greeting_refuses_open() -> None:
    script = Script(greeting="421 4.7.0 too many connections from your IP")

    async def scenario() -> None:
        async with scripted_server(script) as port:
            with pytest.raises(TemporaryFailure) as caught:
                await connect(port)
        assert caught.value.code == 421
        assert caught.value.reply == "4.7.0 too many connections from your IP"

    run(scenario())


def test_554_greeting_is_permanent() -> None:
    async def scenario() -> None:
        async with scripted_server(Script(greeting="554 no SMTP service here")) as port:
            with pytest.raises(PermanentFailure) as caught:
                await connect(port)
        assert caught.value.code == 554

    run(scenario())


def test_helo_fallback_when_ehlo_unknown() -> None:
    def reply(command: str) -> str | None:
        return "502 5.5.1 command not implemented" if command.startswith("EHLO") else None

    script = Script(reply=reply)

    async def scenario() -> None:
        async with scripted_server(script) as port, await connect(port) as conn:
            assert conn.extensions == {}
            await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
        assert script.commands[:2] == [f"EHLO {HELO}", f"HELO {HELO}"]
        assert script.multi_command_chunks == 0

    run(scenario())


# -- network faults -------------------------------------------------------------------


def test_server_drops_connection_mid_data() -> None:
    async def scenario() -> None:
        async with scripted_server(Script(drop_in_data=True)) as port:
            conn = await connect(port)
            big = b"Subject: big\r\n\r\n" + b"x" * 200 + b"\r\n"
            with pytest.raises(TemporaryFailure) as caught:
                await conn.send("a@sender.test", "b@rcpt.test", big)
            assert caught.value.code == 0
            assert f"127.0.0.1:{port}" in caught.value.reply
            assert not conn.is_usable
            await conn.close()

    run(scenario())


def test_server_drops_connection_after_mail() -> None:
    script = Script(reply=lambda c: "DROP" if c.startswith("MAIL") else None)

    async def scenario() -> None:
        async with scripted_server(script) as port:
            conn = await connect(port)
            with pytest.raises(TemporaryFailure, match="connection closed by server") as caught:
                await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
            assert caught.value.code == 0
            assert not conn.is_usable
            await conn.close()

    run(scenario())


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario() -> None:
        with pytest.raises(TemporaryFailure) as caught:
            await connect(port)
        assert caught.value.code == 0
        assert caught.value.reply == f"connection refused talking to 127.0.0.1:{port}"

    run(scenario())


def test_timeout_when_server_never_answers() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.read()
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(TemporaryFailure) as caught:
                await connect(port, timeout=0.2)
            assert caught.value.code == 0
            assert caught.value.reply == f"timed out talking to 127.0.0.1:{port}"
        finally:
            server.close()
            await server.wait_closed()

    run(scenario())


def test_timeout_mid_transaction_marks_unusable() -> None:
    script = Script(reply=lambda c: "SILENT" if c.startswith("RCPT") else None)

    async def scenario() -> None:
        async with scripted_server(script) as port:
            conn = await connect(port, timeout=0.2)
            with pytest.raises(TemporaryFailure, match="timed out"):
                await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
            assert not conn.is_usable
            await conn.close()

    run(scenario())


@pytest.mark.parametrize(
    "bad", ["hello there", "25", "250xOK", "250-first\r\n251 second", "abc OK"]
)
def test_malformed_reply_is_temporary(bad: str) -> None:
    script = Script(reply=lambda c: bad if c.startswith("MAIL") else None)

    async def scenario() -> None:
        async with scripted_server(script) as port:
            conn = await connect(port)
            with pytest.raises(TemporaryFailure, match="malformed reply") as caught:
                await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
            assert caught.value.code == 0
            assert not conn.is_usable
            await conn.close()

    run(scenario())


def test_bind_local_address() -> None:
    async def scenario() -> None:
        handler = Handler()
        async with (
            aiosmtpd_server(handler) as port,
            await connect(port, local_addr="127.0.0.2") as conn,
        ):
            await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
        assert handler.peers[0][0] == "127.0.0.2"
        assert handler.delivered[0].peer[0] == "127.0.0.2"

    run(scenario())


# -- MAIL parameters ------------------------------------------------------------------


def test_size_and_8bitmime_parameters() -> None:
    eight_bit = "Subject: café\r\n\r\nnaïve\r\n".encode()

    async def scenario() -> None:
        handler = Handler()
        async with aiosmtpd_server(handler) as port, await connect(port) as conn:
            await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
            await conn.send("a@sender.test", "b@rcpt.test", eight_bit)
        assert handler.delivered[0].mail_options == [f"SIZE={len(MESSAGE)}"]
        assert handler.delivered[1].mail_options == [f"SIZE={len(eight_bit)}", "BODY=8BITMIME"]
        assert handler.delivered[1].content == eight_bit

    run(scenario())


def test_no_size_parameter_when_not_offered() -> None:
    script = Script(ehlo_lines=("8BITMIME",))

    async def scenario() -> None:
        async with scripted_server(script) as port, await connect(port) as conn:
            await conn.send("a@sender.test", "b@rcpt.test", "é\r\n".encode())
        assert "MAIL FROM:<a@sender.test> BODY=8BITMIME" in script.commands

    run(scenario())


def test_message_over_announced_size_is_permanent_without_sending() -> None:
    script = Script(ehlo_lines=("SIZE 10",))

    async def scenario() -> None:
        async with scripted_server(script) as port, await connect(port) as conn:
            with pytest.raises(PermanentFailure, match=r"5\.3\.4"):
                await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
            assert conn.is_usable
        assert not any(c.startswith("MAIL") for c in script.commands)

    run(scenario())


def test_smtputf8() -> None:
    async def scenario() -> None:
        handler = Handler()
        server = aiosmtpd_server(handler, enable_SMTPUTF8=True)
        async with server as port, await connect(port) as conn:
            assert conn.supports_smtputf8
            await conn.send("a@sender.test", "jörg@rcpt.test", MESSAGE, smtputf8=True)
        assert handler.delivered[0].rcpt_tos == ["jörg@rcpt.test"]
        assert "SMTPUTF8" in handler.delivered[0].mail_options

        async with aiosmtpd_server(Handler()) as port, await connect(port) as conn:
            with pytest.raises(PermanentFailure, match="SMTPUTF8"):
                await conn.send("a@sender.test", "jörg@rcpt.test", MESSAGE, smtputf8=True)
            with pytest.raises(PermanentFailure, match="SMTPUTF8"):
                await conn.send("a@sender.test", "jörg@rcpt.test", MESSAGE)
            assert conn.is_usable

    run(scenario())


def test_address_with_line_break_is_refused() -> None:
    async def scenario() -> None:
        handler = Handler()
        async with aiosmtpd_server(handler) as port, await connect(port) as conn:
            with pytest.raises(PermanentFailure, match="invalid recipient"):
                await conn.send("a@sender.test", "b@rcpt.test>\r\nRCPT TO:<c@x", MESSAGE)
            await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
        assert len(handler.delivered) == 1

    run(scenario())


# -- STARTTLS -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]  # noqa: RUF005
            + ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
            + ["-keyout", str(key), "-out", str(cert)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError):
        require_tool("openssl is not available to make a test certificate")
    return cert, key


def test_starttls_opportunistic_and_required(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    async def scenario() -> None:
        handler = Handler()
        async with aiosmtpd_server(handler, tls_context=server_context) as port:
            # Opportunistic: the self-signed certificate is accepted.
            async with await connect(port) as conn:
                assert conn.tls
                assert "STARTTLS" not in conn.extensions  # EHLO was asked again over TLS
                await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
            # Required with a context that trusts the certificate.
            trusting = ssl.create_default_context(cafile=str(cert))
            async with await connect(
                port, starttls="required", tls_context=trusting, server_hostname="localhost"
            ) as conn:
                assert conn.tls
                await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
            # Required with the default (verifying) context: the certificate is untrusted.
            with pytest.raises(TemporaryFailure, match="TLS error") as caught:
                await connect(port, starttls="required")
            assert caught.value.code == 0
            # Off: plaintext even though offered.
            async with await connect(port, starttls="off") as conn:
                assert not conn.tls
                await conn.send("a@sender.test", "b@rcpt.test", MESSAGE)
        assert len(handler.delivered) == 3

    run(scenario())


def test_starttls_required_but_not_offered() -> None:
    async def scenario() -> None:
        async with aiosmtpd_server(Handler()) as port:
            with pytest.raises(TemporaryFailure) as caught:
                await connect(port, starttls="required")
        assert caught.value.code == 0
        assert caught.value.reply == f"STARTTLS required but not offered by 127.0.0.1:{port}"

    run(scenario())
