"""A SpamAssassin ``spamd`` client: one ``REPORT`` request of the SPAMC/1.5 protocol over TCP.

Preflight asks spamd to judge the exact bytes a recipient would get and shows the score
and the rules that fired. The protocol is a few lines of text (``spamc``'s own wire
format), so it is spoken here directly rather than through a library or the ``spamc``
binary: the request is ``REPORT SPAMC/1.5``, a ``Content-length`` header and the
message; the reply is ``SPAMD/1.x 0 EX_OK``, a ``Spam: False ; 2.1 / 5.0`` header and the
human-readable report whose table lists each rule's points, name and description.

Every failure to get an answer — connection refused, a timeout (one deadline for the
whole exchange, not per read), an error status, a reply that is not SPAMD — raises
:class:`~sendwell.errors.ServiceUnavailable` with the reason, so the caller can fall back
to the built-in heuristics and say why.

Limits: messages over :data:`MAX_MESSAGE_BYTES` (spamc's own default cap, 500 KB) are
not sent (spamd would be slow and spamc would skip them too); replies over 1 MB are
refused. Network rules (RBL, URIBL) run or not as the spamd operator configured them;
offline spamd (``-L``) judges content and headers only.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass

from sendwell.content.spam import SpamRule, SpamVerdict
from sendwell.errors import ServiceUnavailable

DEFAULT_PORT = 783
MAX_MESSAGE_BYTES = 500 * 1024
_MAX_REPLY_BYTES = 1024 * 1024

_STATUS = re.compile(rb"^SPAMD/\d+\.\d+\s+(\d+)\s*(.*)$")
_SPAM = re.compile(
    rb"^Spam:\s*(?:True|False|Yes|No)\s*;\s*(-?\d+(?:\.\d+)?)\s*/\s*(-?\d+(?:\.\d+)?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
# A row of the report's table: " 2.7 GUARANTEED_100_PERCENT BODY: One hundred percent ..."
_ROW = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*?)\s*$")


@dataclass(frozen=True)
class SpamdClient:
    """Where spamd listens and how long one check may take in total."""

    host: str
    port: int = DEFAULT_PORT
    timeout: float = 10.0

    def check(self, data: bytes) -> SpamVerdict:
        """SpamAssassin's verdict on the message; raises ServiceUnavailable without one."""
        if len(data) > MAX_MESSAGE_BYTES:
            raise ServiceUnavailable(
                f"spamd: the message is {len(data) // 1024} KB, over the "
                f"{MAX_MESSAGE_BYTES // 1024} KB that is sent for scoring"
            )
        request = (
            f"REPORT SPAMC/1.5\r\nContent-length: {len(data)}\r\nUser: sendwell\r\n\r\n".encode()
            + data
        )
        reply = self._exchange(request)
        return parse_report(reply, where=f"{self.host}:{self.port}")

    def ping(self) -> bool:
        """True when spamd answers ``PONG`` (used to wait for a freshly started one)."""
        try:
            reply = self._exchange(b"PING SPAMC/1.5\r\n\r\n")
        except ServiceUnavailable:
            return False
        return b"PONG" in reply.split(b"\r\n", 1)[0]

    def _exchange(self, request: bytes) -> bytes:
        where = f"{self.host}:{self.port}"
        deadline = time.monotonic() + self.timeout
        chunks: list[bytes] = []
        size = 0
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(request)
                sock.shutdown(socket.SHUT_WR)
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    sock.settimeout(remaining)
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > _MAX_REPLY_BYTES:
                        raise ServiceUnavailable(f"spamd at {where}: reply over 1 MB")
                    chunks.append(chunk)
        except TimeoutError:
            raise ServiceUnavailable(
                f"spamd at {where} did not answer within {self.timeout:g} s"
            ) from None
        except OSError as exc:
            raise ServiceUnavailable(
                f"spamd at {where} cannot be reached: {exc.strerror or exc}"
            ) from None
        return b"".join(chunks)


def parse_report(reply: bytes, *, where: str = "spamd") -> SpamVerdict:
    """The verdict in a ``REPORT`` reply (status line, headers, report text)."""
    head, _, body = reply.partition(b"\r\n\r\n")
    status = _STATUS.match(head.split(b"\r\n", 1)[0])
    if status is None:
        raise ServiceUnavailable(f"spamd at {where} answered something else: {reply[:60]!r}")
    if status.group(1) != b"0":
        message = status.group(2).decode("ascii", "replace")
        raise ServiceUnavailable(f"spamd at {where} refused the check: {message}")
    spam = _SPAM.search(head)
    if spam is None:
        raise ServiceUnavailable(f"spamd at {where} sent no score: {head[:80]!r}")
    return SpamVerdict(
        score=float(spam.group(1)),
        threshold=float(spam.group(2)),
        rules=tuple(_rules(body.decode("utf-8", "replace"))),
        source="spamd",
    )


def _rules(report: str) -> list[SpamRule]:
    """The rows of the report's "pts rule name description" table.

    Descriptions wrap onto indented lines without points; those are joined to the row.
    """
    lines = report.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("----")) + 1
    except StopIteration:
        return []
    rules: list[SpamRule] = []
    for line in lines[start:]:
        if not line.strip():
            break
        row = _ROW.match(line)
        if row is not None:
            rules.append(SpamRule(row.group(2), float(row.group(1)), row.group(3)))
        elif rules:
            last = rules[-1]
            rules[-1] = SpamRule(last.name, last.score, f"{last.description} {line.strip()}")
    return rules
