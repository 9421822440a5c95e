"""A lean asyncio SMTP client for bulk delivery.

Written here rather than taken from aiosmtplib because the engine's hot path needs three
things at once: RFC 2920 pipelining (MAIL, RCPT and DATA leave in one write), a
classified reply for every step, and connections that stay usable after a recipient is
refused so that the next message reuses them.

This module is also the error-translation edge of delivery: every socket, TLS, timeout and
protocol fault becomes ``TemporaryFailure(0, "<what> talking to host:port")``; 4xx replies
become :class:`TemporaryFailure`, 5xx replies :class:`PermanentFailure` (code and the
server's text preserved, so retry hints and automation rules can read them). A 421 reply,
a dropped connection or a timeout make :attr:`SmtpConnection.is_usable` false.

Usage::

    conn = await SmtpConnection.open("mx1.example", 25, helo_name="out1.sender.example")
    try:
        reply = await conn.send("bounce+123@sender.example", "bob@example.com", message)
    finally:
        await conn.close()

Limits: one recipient per transaction (bulk mail carries a VERP return path per
recipient); no AUTH, no CHUNKING/BDAT, no DSN parameters; the message must already be
CRLF-terminated lines (RFC 5322). Bytes with the high bit set are sent as they are even
to a server that does not announce 8BITMIME; message assembly is expected to use
quoted-printable/base64 so this does not arise in practice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Self

from sendwell.errors import DeliveryError, PermanentFailure, TemporaryFailure

__all__ = ["Reply", "SmtpConnection", "StartTls"]

StartTls = Literal["opportunistic", "required", "off"]

# A reply longer than this is a broken or hostile server, not a real one.
_MAX_REPLY_LINES = 200
_CRLF = b"\r\n"

# Foreign exceptions that mean "the conversation broke": translated to TemporaryFailure(0).
# TimeoutError and ssl.SSLError are OSError subclasses; IncompleteReadError is an EOFError.
_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    asyncio.LimitOverrunError,
)


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply: the code and its text (continuation lines joined with ``"\\n"``)."""

    code: int
    text: str

    @property
    def enhanced(self) -> str | None:
        """The RFC 3463 enhanced status code ("4.7.28") at the start of the text, if any."""
        first = self.text.split("\n", 1)[0]
        token = first.split(" ", 1)[0]
        parts = token.split(".")
        if (
            len(parts) == 3
            and parts[0] in ("2", "4", "5")
            and all(p.isdigit() and 0 < len(p) <= 3 for p in parts[1:])
        ):
            return token
        return None

    @property
    def is_positive(self) -> bool:
        return 200 <= self.code < 300

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


def _failure(reply: Reply) -> DeliveryError:
    """The exception a non-positive reply stands for (4xx temporary, 5xx permanent)."""
    if 500 <= reply.code < 600:
        return PermanentFailure(reply.code, reply.text)
    # 4xx, and also anything unexpected (1xx/3xx where 2xx was due): worth another try.
    return TemporaryFailure(reply.code, reply.text)


def _describe(exc: BaseException) -> str:
    """A short human phrase for a network-level failure."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, EOFError):
        return "connection closed by server"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or exc})"
    if isinstance(exc, asyncio.LimitOverrunError):
        return "reply line too long"
    detail = str(exc) or type(exc).__name__
    return f"network error ({detail})"


def _dot_stuff(data: bytes) -> bytes:
    """Escape leading dots (RFC 5321 §4.5.2) and append the end-of-data marker.

    Dots after a bare LF are stuffed too: the message should not contain bare LFs, but
    if one slips through, a lenient server that treats LF as a line end must not see an
    early end of data (the "SMTP smuggling" pattern).
    """
    if data.startswith(b"."):
        data = b"." + data
    if b"\n." in data:
        data = data.replace(b"\n.", b"\n..")
    if data and not data.endswith(_CRLF):
        data += _CRLF
    return data + b".\r\n"


def _address(address: str, *, utf8: bool, what: str) -> bytes:
    """Encode an envelope address, refusing ones that would break the command line."""
    if "\r" in address or "\n" in address or "<" in address or ">" in address:
        raise PermanentFailure(0, f"5.1.3 invalid {what} address {address!r}")
    try:
        return address.encode("utf-8" if utf8 else "ascii")
    except UnicodeEncodeError:
        raise PermanentFailure(
            0, f"5.6.7 non-ASCII {what} address {address!r} needs SMTPUTF8"
        ) from None


def _default_tls_context(mode: StartTls) -> ssl.SSLContext:
    """Verify certificates when TLS is required; accept any certificate otherwise.

    Opportunistic TLS (RFC 7435) exists to beat passive eavesdropping: refusing an
    unverifiable certificate would only push the message to plaintext, which is worse.
    """
    context = ssl.create_default_context()
    if mode == "opportunistic":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpConnection:
    """One open SMTP session, ready to carry many single-recipient transactions.

    Not safe for concurrent use: one ``send`` at a time per connection (a pool of
    connections gives parallelism).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        host: str,
        port: int,
        timeout: float,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.host = host
        self.port = port
        self._timeout = timeout
        self._where = f"{host}:{port}"
        self._usable = True
        self._closed = False
        self.extensions: dict[str, str] = {}
        self.greeting: Reply | None = None
        self.tls = False
        self.messages_sent = 0

    # -- opening ----------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        helo_name: str,
        local_addr: str | None = None,
        timeout: float = 30.0,
        starttls: StartTls = "opportunistic",
        tls_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> Self:
        """Connect, read the greeting, EHLO (HELO as fallback) and STARTTLS when offered.

        ``local_addr`` binds the source address (IP pools). ``server_hostname`` is the
        name checked against the certificate (defaults to ``host``). Raises
        :class:`TemporaryFailure` / :class:`PermanentFailure`; never a foreign exception.
        """
        where = f"{host}:{port}"
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_addr, 0) if local_addr else None
                )
        except _NETWORK_ERRORS as exc:
            raise TemporaryFailure(0, f"{_describe(exc)} talking to {where}") from exc

        conn = cls(reader, writer, host=host, port=port, timeout=timeout)
        try:
            await conn._handshake(helo_name, starttls, tls_context, server_hostname or host)
        except _NETWORK_ERRORS as exc:
            failure = conn._broken(exc)
            await conn.close()
            raise failure from exc
        except DeliveryError:
            # A refusal (554 greeting, STARTTLS missing...): say QUIT and hang up politely.
            await conn.close()
            raise
        except BaseException:
            conn._abort()
            raise
        return conn

    async def _handshake(
        self,
        helo_name: str,
        starttls: StartTls,
        tls_context: ssl.SSLContext | None,
        server_hostname: str,
    ) -> None:
        self.greeting = await self._read_reply()
        if not self.greeting.is_positive:
            raise _failure(self.greeting)
        await self._ehlo(helo_name)
        if starttls == "off":
            return
        if "STARTTLS" not in self.extensions:
            if starttls == "required":
                raise TemporaryFailure(0, f"STARTTLS required but not offered by {self._where}")
            return
        reply = await self._command(b"STARTTLS\r\n")
        if reply.code != 220:
            if starttls == "required" or reply.code == 421:
                raise _failure(reply)
            # Opportunistic: a refused STARTTLS leaves the plaintext session intact.
            return
        context = tls_context or _default_tls_context(starttls)
        async with asyncio.timeout(self._timeout):
            await self._writer.start_tls(context, server_hostname=server_hostname)
        self.tls = True
        # RFC 3207 §4.2: everything learnt before TLS is forgotten; ask again.
        await self._ehlo(helo_name)

    async def _ehlo(self, helo_name: str) -> None:
        name = helo_name.encode("ascii")
        reply = await self._command(b"EHLO " + name + _CRLF)
        if reply.is_positive:
            extensions: dict[str, str] = {}
            for line in reply.text.split("\n")[1:]:
                keyword, _, params = line.strip().partition(" ")
                if keyword:
                    extensions[keyword.upper()] = params.strip()
            self.extensions = extensions
            return
        if reply.code == 421 or not 500 <= reply.code < 600:
            raise _failure(reply)
        # An old server that does not know EHLO: plain SMTP, no extensions.
        reply = await self._command(b"HELO " + name + _CRLF)
        if not reply.is_positive:
            raise _failure(reply)
        self.extensions = {}

    # -- capabilities -----------------------------------------------------------------

    @property
    def supports_pipelining(self) -> bool:
        return "PIPELINING" in self.extensions

    @property
    def supports_smtputf8(self) -> bool:
        return "SMTPUTF8" in self.extensions

    @property
    def supports_8bitmime(self) -> bool:
        return "8BITMIME" in self.extensions

    @property
    def max_size(self) -> int | None:
        """The SIZE limit the server announced; None when unknown or unlimited (0)."""
        value = self.extensions.get("SIZE")
        if value is None or not value.isdigit() or int(value) == 0:
            return None
        return int(value)

    @property
    def is_usable(self) -> bool:
        """False once the server said 421, the connection dropped or timed out, or closed."""
        return (
            self._usable
            and not self._closed
            and not self._writer.is_closing()
            and not self._reader.at_eof()
        )

    # -- sending ----------------------------------------------------------------------

    async def send(
        self, mail_from: str, rcpt: str, data: bytes, *, smtputf8: bool = False
    ) -> Reply:
        """Deliver ``data`` to one recipient; return the final 2xx reply.

        ``data`` is the whole message, CRLF line endings, not dot-stuffed. Raises
        :class:`TemporaryFailure` or :class:`PermanentFailure`; after a refused MAIL,
        RCPT or DATA the connection stays usable (unless the reply was 421).
        """
        self._check_usable()
        if smtputf8 and not self.supports_smtputf8:
            raise PermanentFailure(0, f"5.6.7 SMTPUTF8 required but not offered by {self._where}")
        limit = self.max_size
        if limit is not None and len(data) > limit:
            raise PermanentFailure(
                0,
                f"5.3.4 message of {len(data)} bytes exceeds the {limit}-byte limit "
                f"of {self._where}",
            )
        params = b""
        if "SIZE" in self.extensions:
            params += b" SIZE=%d" % len(data)
        if not data.isascii() and self.supports_8bitmime:
            params += b" BODY=8BITMIME"
        if smtputf8:
            params += b" SMTPUTF8"
        mail = (
            b"MAIL FROM:<"
            + _address(mail_from, utf8=smtputf8, what="sender")
            + b">"
            + params
            + _CRLF
        )
        rcpt_cmd = b"RCPT TO:<" + _address(rcpt, utf8=smtputf8, what="recipient") + b">\r\n"
        try:
            if self.supports_pipelining:
                await self._envelope_pipelined(mail, rcpt_cmd)
            else:
                await self._envelope_lockstep(mail, rcpt_cmd)
            await self._write(_dot_stuff(data))
            reply = await self._read_reply()
        except _NETWORK_ERRORS as exc:
            raise self._broken(exc) from exc
        except asyncio.CancelledError:
            # Cancelled mid-transaction: the session state is unknown.
            self._usable = False
            raise
        if not reply.is_positive:
            raise _failure(reply)
        self.messages_sent += 1
        return reply

    async def _envelope_pipelined(self, mail: bytes, rcpt: bytes) -> None:
        """MAIL, RCPT, DATA in one write; on success the server is waiting for the body."""
        await self._write(mail + rcpt + b"DATA\r\n")
        # One deadline for the whole group: the three replies come back together.
        async with asyncio.timeout(self._timeout):
            mail_reply = await self._next_reply()
            if mail_reply.code == 421:
                raise _failure(mail_reply)
            rcpt_reply = await self._next_reply()
            if rcpt_reply.code == 421:
                raise _failure(rcpt_reply)
            data_reply = await self._next_reply()
        if data_reply.code == 354 and not (mail_reply.is_positive and rcpt_reply.is_positive):
            # RFC 2920 forbids 354 without a recipient; a server that gives it anyway is
            # waiting for a body: send an empty one so the session is in step again.
            await self._write(b".\r\n")
            await self._read_reply()
        if not mail_reply.is_positive:
            # No transaction was opened, so no RSET is needed.
            raise _failure(mail_reply)
        if not rcpt_reply.is_positive:
            await self._rset_after_failure()
            raise _failure(rcpt_reply)
        if data_reply.code != 354:
            await self._rset_after_failure()
            raise _failure(data_reply)

    async def _envelope_lockstep(self, mail: bytes, rcpt: bytes) -> None:
        reply = await self._command(mail)
        if not reply.is_positive:
            raise _failure(reply)
        reply = await self._command(rcpt)
        if not reply.is_positive:
            await self._rset_after_failure()
            raise _failure(reply)
        reply = await self._command(b"DATA\r\n")
        if reply.code != 354:
            await self._rset_after_failure()
            raise _failure(reply)

    async def _rset_after_failure(self) -> None:
        """Abandon the open transaction so the next MAIL is not a "nested MAIL"."""
        if not self._usable:
            return
        reply = await self._command(b"RSET\r\n")
        if not reply.is_positive:
            # Cannot get back to a clean state: do not reuse this session.
            self._usable = False

    async def reset(self) -> None:
        """Send RSET; raise on a non-2xx reply or a broken connection."""
        self._check_usable()
        try:
            reply = await self._command(b"RSET\r\n")
        except _NETWORK_ERRORS as exc:
            raise self._broken(exc) from exc
        if not reply.is_positive:
            raise _failure(reply)

    async def auth(self, username: str, password: str) -> None:
        """Authenticate (AUTH PLAIN, else LOGIN) for relaying through a smarthost.

        A refused login is a configuration problem, not the recipient's: it raises
        :class:`TemporaryFailure` (messages wait for the fix) and never a bounce.
        """
        self._check_usable()
        methods = set(self.extensions.get("AUTH", "").upper().split())
        user, secret = username.encode(), password.encode()
        try:
            if "PLAIN" in methods or not methods:
                token = base64.b64encode(b"\0" + user + b"\0" + secret)
                reply = await self._command(b"AUTH PLAIN " + token + b"\r\n")
            elif "LOGIN" in methods:
                reply = await self._command(b"AUTH LOGIN\r\n")
                if reply.code == 334:
                    reply = await self._command(base64.b64encode(user) + b"\r\n")
                if reply.code == 334:
                    reply = await self._command(base64.b64encode(secret) + b"\r\n")
            else:
                raise TemporaryFailure(
                    0,
                    f"{self._where} offers no AUTH method sendwell "
                    f"speaks ({' '.join(sorted(methods))})",
                )
        except _NETWORK_ERRORS as exc:
            raise self._broken(exc) from exc
        if reply.code != 235:
            raise TemporaryFailure(reply.code, f"authentication failed at {self._where}: {reply}")

    async def close(self) -> None:
        """QUIT politely when the session is healthy, then close the socket. Idempotent."""
        if self._closed:
            return
        healthy = self.is_usable
        self._closed = True
        try:
            # Failures while saying goodbye change nothing for the caller: swallow them.
            if healthy:
                with contextlib.suppress(Exception):
                    await self._command(b"QUIT\r\n")
        finally:
            # Even when cancelled mid-QUIT, the socket must not leak.
            self._writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._timeout):
                await self._writer.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- wire -------------------------------------------------------------------------

    def _check_usable(self) -> None:
        if not self.is_usable:
            raise TemporaryFailure(0, f"connection to {self._where} is no longer usable")

    def _broken(self, exc: BaseException) -> TemporaryFailure:
        """Mark the session dead after a network fault and describe the fault."""
        self._abort()
        return TemporaryFailure(0, f"{_describe(exc)} talking to {self._where}")

    def _abort(self) -> None:
        # close() still has to run (it waits for the socket to go); it will skip QUIT.
        self._usable = False
        self._writer.close()

    async def _write(self, payload: bytes) -> None:
        self._writer.write(payload)
        # Usually the kernel takes the whole write at once and there is nothing to wait
        # for: skipping drain() and its deadline then saves two timer operations on every
        # command of the hot path. A connection lost meanwhile surfaces at the next read.
        transport = self._writer.transport
        if transport.get_write_buffer_size() or transport.is_closing():
            async with asyncio.timeout(self._timeout):
                await self._writer.drain()

    async def _command(self, line: bytes) -> Reply:
        await self._write(line)
        return await self._read_reply()

    async def _read_reply(self) -> Reply:
        """Read one possibly multi-line reply ("250-a", "250-b", "250 c")."""
        async with asyncio.timeout(self._timeout):
            return await self._next_reply()

    async def _next_reply(self) -> Reply:
        """:meth:`_read_reply` without a deadline of its own (the caller's applies)."""
        code = -1
        lines: list[str] = []
        while True:
            # Split on LF and strip CR: a server ending lines with a bare LF is broken
            # but common enough that hanging until the timeout would be unhelpful.
            raw = await self._reader.readuntil(b"\n")
            line = raw.rstrip(b"\r\n")
            sep = line[3:4]
            if len(line) < 3 or not line[:3].isdigit() or sep not in (b"", b" ", b"-"):
                raise self._malformed(raw)
            this = int(line[:3])
            if code == -1:
                code = this
            elif this != code:
                raise self._malformed(raw)
            lines.append(line[4:].decode("utf-8", "replace"))
            if sep != b"-":
                break
            if len(lines) >= _MAX_REPLY_LINES:
                raise self._malformed(raw)
        if code == 421:
            # The server is closing the channel (RFC 5321 §3.8).
            self._usable = False
        return Reply(code, "\n".join(lines))

    def _malformed(self, raw: bytes) -> TemporaryFailure:
        self._abort()
        return TemporaryFailure(0, f"malformed reply {raw[:100]!r} talking to {self._where}")
