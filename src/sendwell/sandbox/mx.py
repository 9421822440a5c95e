"""One simulated MX server: aiosmtpd's SMTP protocol playing a provider profile.

:class:`MxServer` listens on one loopback address in the caller's event loop (no threads),
so a whole world of servers shares one loop. It speaks ESMTP with PIPELINING, 8BITMIME,
SMTPUTF8 and SIZE (50 MB) and judges each transaction by its :class:`ProviderProfile`:

* connect: more than ``rate_limit.max_connections`` sessions open at the provider (all its
  MX hosts together) -> the greeting is the ``too_many_connections`` 421 and the
  connection is closed;
* MAIL: ``rate_limit.messages_per_minute`` messages already accepted from this peer IP in
  the trailing 60 s -> the ``rate_limited`` 421 and the connection is closed;
* RCPT: a domain the provider does not host -> 550 5.7.1; local part matching
  ``unknown_mailbox`` -> 550 5.1.1; ``mailbox_full`` -> 452 4.2.2; greylisting -> 451 4.7.1
  for a new (peer IP, sender, recipient) triplet and for retries sooner than
  ``greylist_seconds``;
* DATA: a recipient matching ``drop`` makes the server close the connection after reading
  the message and before replying, for the first ``drop_times`` attempts per recipient;
* every reply is delayed by ``slow_ms`` (per reply, not per line of a multi-line reply).

Every 421 closes the connection afterwards, as RFC 5321 §3.8 says it must. State that
spans connections (sessions, greylist, rate windows, drop counts) lives in a
:class:`ProviderState` shared by the MX hosts of one provider. Time for the greylist and
rate windows comes from the injected ``now`` (monotonic seconds) so tests can move it.

Limits: no STARTTLS or AUTH; the greylist and rate windows are never pruned of old peers,
which is fine for runs of hours, not for weeks.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session

from sendwell.errors import SandboxError
from sendwell.sandbox.profiles import MxHost, ProviderProfile, format_reply
from sendwell.sandbox.record import ReceivedMessage, RecordWriter, message_id_of

__all__ = ["DATA_SIZE_LIMIT", "MxServer", "ProviderState"]

DATA_SIZE_LIMIT = 50 * 1024 * 1024
_RATE_WINDOW = 60.0

# aiosmtpd logs every connection at INFO; a world receiving thousands of messages
# would drown everything else.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern, re.IGNORECASE) if pattern else None


@dataclass
class ProviderState:
    """What one provider remembers across connections and across its MX hosts."""

    profile: ProviderProfile
    now: Callable[[], float] = time.monotonic
    sessions_open: int = 0
    sessions_started: int = 0
    greylist: dict[tuple[str, str, str], float] = field(default_factory=dict)
    accepted_at: dict[str, deque[float]] = field(default_factory=dict)
    drops: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.unknown = _compile(self.profile.unknown_mailbox)
        self.full = _compile(self.profile.mailbox_full)
        self.drop = _compile(self.profile.drop)
        self.domains = frozenset(
            d.lower() for d in (*self.profile.domains, *self.profile.accept_domains)
        )

    def next_session_id(self) -> str:
        self.sessions_started += 1
        return f"{self.profile.name}-{self.sessions_started}"

    def recent_messages(self, peer: str) -> int:
        window = self.accepted_at.get(peer)
        if window is None:
            return 0
        horizon = self.now() - _RATE_WINDOW
        while window and window[0] <= horizon:
            window.popleft()
        return len(window)

    def note_accepted(self, peer: str) -> None:
        self.accepted_at.setdefault(peer, deque()).append(self.now())

    def greylisted(self, peer: str, mail_from: str, rcpt: str) -> bool:
        """True when this attempt must be deferred; remembers first attempts."""
        seconds = self.profile.greylist_seconds
        if seconds is None:
            return False
        key = (peer, mail_from.lower(), rcpt.lower())
        first = self.greylist.get(key)
        if first is None:
            self.greylist[key] = self.now()
            return True
        return self.now() - first < seconds

    def should_drop(self, rcpts: list[str]) -> bool:
        """True when this DATA must be dropped; counts the drop for each matching rcpt."""
        if self.drop is None:
            return False
        matching = [r.lower() for r in rcpts if self.drop.search(_local_part(r))]
        due = [r for r in matching if self.drops.get(r, 0) < self.profile.drop_times]
        for rcpt in due:
            self.drops[rcpt] = self.drops.get(rcpt, 0) + 1
        return bool(due)


def _local_part(address: str) -> str:
    return address.rpartition("@")[0] if "@" in address else address


class _Handler:
    """aiosmtpd hooks: the provider's judgements at each SMTP step."""

    def __init__(self, mx: MxServer) -> None:
        self.mx = mx
        self.state = mx.state
        self.texts = mx.state.profile.reply_texts

    async def handle_EHLO(
        self,
        server: _MxSmtp,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        # aiosmtpd handles pipelined commands but does not say so; real MX hosts do.
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_MAIL(
        self,
        server: _MxSmtp,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        limit = self.state.profile.rate_limit.messages_per_minute
        if limit is not None and self.state.recent_messages(server.peer_ip) >= limit:
            return self._reply(self.texts.rate_limited, server, "")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        server: _MxSmtp,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        state = self.state
        domain = address.rpartition("@")[2].lower()
        if domain not in state.domains:
            return f"550 5.7.1 <{address}>: Relay access denied"
        local = _local_part(address)
        if state.unknown is not None and state.unknown.search(local):
            return self._reply(self.texts.unknown_mailbox, server, address)
        if state.full is not None and state.full.search(local):
            return self._reply(self.texts.mailbox_full, server, address)
        if state.greylisted(server.peer_ip, envelope.mail_from or "", address):
            return self._reply(self.texts.greylisted, server, address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: _MxSmtp, session: Session, envelope: Envelope) -> str:
        if self.state.should_drop(envelope.rcpt_tos):
            server.drop_before_reply = True
            return "451 4.3.0 dropped"  # never sent: push() closes the connection instead
        data: bytes = envelope.original_content or b""
        message_id = message_id_of(data)
        at = datetime.now(UTC)
        for rcpt in envelope.rcpt_tos:
            self.mx.accept(
                ReceivedMessage(
                    at=at,
                    provider=self.state.profile.name,
                    mx=self.mx.host.hostname,
                    peer=server.peer_ip,
                    mail_from=envelope.mail_from or "",
                    rcpt=rcpt,
                    message_id=message_id,
                    size=len(data),
                    session=server.session_id,
                    data=data,
                    concurrent=self.state.sessions_open,
                )
            )
        self.state.note_accepted(server.peer_ip)
        return self._reply(self.texts.accepted, server, "")

    def _reply(self, text: str, server: _MxSmtp, rcpt: str) -> str:
        return format_reply(text, rcpt=rcpt, peer=server.peer_ip, mx=self.mx.host.hostname)


class _MxSmtp(SMTP):
    """aiosmtpd's protocol plus connection accounting, slow replies and drops."""

    def __init__(self, mx: MxServer, handler: _Handler) -> None:
        super().__init__(
            handler,
            data_size_limit=DATA_SIZE_LIMIT,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=mx.host.hostname,
            ident=f"ESMTP sendwell sandbox ({mx.state.profile.name})",
            loop=asyncio.get_running_loop(),
        )
        self.mx = mx
        self.peer_ip = ""
        self.session_id = ""
        self.counted = False
        self.rejected = False
        self.drop_before_reply = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        state = self.mx.state
        peer = transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]) if peer else ""
        self.session_id = state.next_session_id()
        limit = state.profile.rate_limit.max_connections
        if limit is not None and state.sessions_open >= limit:
            self.rejected = True
        else:
            state.sessions_open += 1
            self.counted = True
        self.mx.connections.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self.counted:
            self.mx.state.sessions_open -= 1
            self.counted = False
        self.mx.connections.discard(self)
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if self.rejected:
            texts = self.mx.state.profile.reply_texts
            await self.push(format_reply(texts.too_many_connections, peer=self.peer_ip))
            return
        await super()._handle_client()

    async def push(self, status: AnyStr) -> None:
        transport = self.transport
        if self.drop_before_reply:
            self.drop_before_reply = False
            if transport is not None:
                transport.close()
            return
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        slow = self.mx.state.profile.slow_ms
        if slow and text[3:4] != "-":  # once per reply, not per EHLO line
            await asyncio.sleep(slow / 1000)
        await super().push(status)
        if text.startswith("421") and self.transport is not None:
            self.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@dataclass(frozen=True)
class _Binding:
    server: asyncio.Server
    port: int


class MxServer:
    """One MX host of ``profile`` listening on ``host.ip:port`` (0 picks a free port).

    Accepted (message, recipient) pairs go to ``record`` (when given) and, with
    ``keep_messages``, to :attr:`messages`. Pass one ``state`` to all MX hosts of a
    provider so that limits and greylisting span them; ``messages`` may be a list shared
    by several servers.
    """

    def __init__(
        self,
        profile: ProviderProfile,
        host: MxHost,
        port: int = 0,
        *,
        state: ProviderState | None = None,
        record: RecordWriter | None = None,
        keep_messages: bool = False,
        messages: list[ReceivedMessage] | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.profile = profile
        self.host = host
        self._port = port
        self.state = state if state is not None else ProviderState(profile, now)
        self.record = record
        self.keep_messages = keep_messages or messages is not None
        self.messages: list[ReceivedMessage] = messages if messages is not None else []
        self.connections: set[_MxSmtp] = set()
        self._binding: _Binding | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The (ip, port) the server listens on; only valid after :meth:`start`."""
        if self._binding is None:
            raise SandboxError(f"MX server {self.host.hostname} is not started")
        return (self.host.ip, self._binding.port)

    def accept(self, message: ReceivedMessage) -> None:
        if self.record is not None:
            self.record.write(message)
        if self.keep_messages:
            self.messages.append(message)

    async def start(self) -> None:
        """Listen; raises SandboxError (naming the address) when the port is taken."""
        loop = asyncio.get_running_loop()
        handler = _Handler(self)

        def protocol() -> Any:
            return _MxSmtp(self, handler)

        try:
            server = await loop.create_server(protocol, host=self.host.ip, port=self._port)
        except OSError as error:
            raise SandboxError(
                f"cannot listen on {self.host.ip}:{self._port} ({self.host.hostname}): "
                f"{error.strerror or error}"
            ) from error
        port = int(server.sockets[0].getsockname()[1])
        self._binding = _Binding(server, port)

    async def stop(self) -> None:
        """Stop listening and close every open session."""
        if self._binding is None:
            return
        self._binding.server.close()
        for connection in list(self.connections):
            connection.close()
        await self._binding.server.wait_closed()
        self._binding = None
        # Let connection_lost run for the sessions just closed, so their tasks end here.
        for _ in range(3):
            if not self.connections:
                break
            await asyncio.sleep(0)

    async def __aenter__(self) -> MxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
