"""The inbound SMTP server for the bounce domain (``sendwell inbound``).

An aiosmtpd handler that accepts mail only for the configured domains (the VERP bounce
domain, where bounces, ARF reports and mailto-unsubscribe replies arrive), refuses
anything else with ``550 5.7.1`` (it is not an open relay), refuses messages over the
size limit with ``552`` (aiosmtpd's ``data_size_limit``), and feeds each accepted
(message, recipient) to the :class:`~sendwell.feedback.ingest.Ingestor`.

The reply to DATA is ``250`` once the feedback is recorded, and ``451`` when the database
could not record it, so the sending MTA retries later instead of the report being lost.
Malformed input never reaches beyond the parser, which never raises.

Limits: no STARTTLS and no AUTH (bounces arrive from arbitrary MTAs, unauthenticated);
put it on port 25 behind the bounce domain's MX record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from aiosmtpd.smtp import SMTP, Envelope, Session

from sendwell.errors import ConfigError, SendwellError
from sendwell.feedback.ingest import Ingested, Ingestor

log = logging.getLogger(__name__)


class InboundHandler:
    """aiosmtpd hooks: RCPT filtering and DATA ingestion."""

    def __init__(
        self,
        ingestor: Ingestor,
        domains: Sequence[str],
        on_ingested: Callable[[Ingested], None] | None = None,
    ) -> None:
        self._ingestor = ingestor
        self._domains = {d.lower().strip(".") for d in domains if d}
        self._on_ingested = on_ingested

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        domain = address.rpartition("@")[2].lower().strip(".")
        if domain not in self._domains:
            return "550 5.7.1 Relaying denied: not a feedback address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")
        try:
            for rcpt in envelope.rcpt_tos:
                done = await asyncio.to_thread(self._ingestor.ingest, data, envelope_rcpt=rcpt)
                if self._on_ingested is not None:
                    self._on_ingested(done)
        except SendwellError as exc:
            log.error("feedback not recorded, asking the sender to retry: %s", exc)
            return "451 4.3.0 Temporary failure recording feedback, try again later"
        return "250 2.0.0 OK feedback received"


class InboundServer:
    """The server on one address; ``start``/``stop`` from a running event loop."""

    def __init__(
        self,
        handler: InboundHandler,
        *,
        host: str,
        port: int,
        max_message_bytes: int,
        hostname: str = "sendwell-inbound",
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._max = max_message_bytes
        self._hostname = hostname
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    def _protocol(self) -> SMTP:
        return SMTP(
            self._handler,
            hostname=self._hostname,
            data_size_limit=self._max,
            enable_SMTPUTF8=True,
            decode_data=False,
            ident="sendwell inbound",
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(self._protocol, self._host, self._port)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {self._host}:{self._port}: {exc.strerror}"
            ) from None

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
