"""What the sandbox's MX servers accepted, kept in memory and/or appended to a JSONL file.

The file written by ``sendwell sandbox --record FILE.jsonl`` is a stable contract read by
benchmarks and by judges of sending behaviour. One JSON object per accepted
(message, recipient) pair, one line each, written as soon as the message is accepted
(line-buffered), with exactly these keys:

========== ====================================================================================
key        value
========== ====================================================================================
at         when it was accepted: ISO-8601 UTC with microseconds, "2026-11-22T21:30:00.123456+00:00"
provider   the provider profile's name, "gmail"
mx         the MX hostname that accepted it, "mx1.gmail.sandbox"
peer       the client's IP address (no port): per-source-IP behaviour is judged on it
mail_from  the envelope sender (MAIL FROM), "" for the null sender
rcpt       the envelope recipient (RCPT TO)
message_id the Message-ID header value with its angle brackets, or null when absent
size       bytes of the DATA as received (after dot-unstuffing)
session    id of the SMTP connection, unique within one sandbox run: "gmail-17"
concurrent SMTP sessions open at that provider (all its MX hosts) at the moment of acceptance
========== ====================================================================================

Limits: the file is appended to, never truncated; lines from several runs can mix. Writes
happen on the event loop thread; at demo rates (hundreds of lines a second) that is fine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import IO, Any

__all__ = ["RECORD_KEYS", "ReceivedMessage", "RecordWriter", "message_id_of"]

RECORD_KEYS = (
    "at",
    "provider",
    "mx",
    "peer",
    "mail_from",
    "rcpt",
    "message_id",
    "size",
    "session",
    "concurrent",
)


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted (message, recipient) pair; ``data`` is the raw DATA bytes."""

    at: datetime
    provider: str
    mx: str
    peer: str
    mail_from: str
    rcpt: str
    message_id: str | None
    size: int
    session: str
    data: bytes
    concurrent: int = 1

    def to_record(self) -> dict[str, Any]:
        """The JSONL object (see the module docstring), without the message data."""
        return {
            "at": self.at.isoformat(timespec="microseconds"),
            "provider": self.provider,
            "mx": self.mx,
            "peer": self.peer,
            "mail_from": self.mail_from,
            "rcpt": self.rcpt,
            "message_id": self.message_id,
            "size": self.size,
            "session": self.session,
            "concurrent": self.concurrent,
        }


def message_id_of(data: bytes) -> str | None:
    """The Message-ID header of raw message bytes, stripped of folding, or None."""
    # compat32 parses headers without interpreting them, so odd ids come back verbatim.
    headers = BytesHeaderParser(policy=compat32).parsebytes(data)
    value = headers.get("Message-ID")
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


class RecordWriter:
    """Appends records to a JSONL file, one flushed line per accepted recipient."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = path.open("a", encoding="utf-8", buffering=1)

    def write(self, message: ReceivedMessage) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(message.to_record(), ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
