"""RFC 3464 delivery status notifications inside RFC 6522 ``multipart/report`` messages.

Reads the ``message/delivery-status`` part into one :class:`DsnRecipient` per recipient
block. Tolerates what real MTAs send: field names in any case, folded values, address
types other than ``rfc822``, missing ``Status`` (then taken from the diagnostic text),
status parts that are not under a ``multipart/report`` at all, delivery-status parts
that the mail library could not split into blocks (then parsed from the raw text), and
RFC 6533 ``message/global-delivery-status`` parts (UTF-8; the mail library reads them as
one embedded message, so they are re-read as text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

from sendwell.feedback.mime import text_of, walk

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.*)$")


@dataclass(frozen=True)
class DsnRecipient:
    """One per-recipient block of a DSN."""

    final_recipient: str
    original_recipient: str
    action: str
    status: str
    diagnostic: str
    remote_mta: str


def _strip_type(value: str) -> str:
    """``rfc822; a@b`` → ``a@b``; ``smtp; 550 ...`` → ``550 ...``."""
    kind, sep, rest = value.partition(";")
    if sep and len(kind) < 20 and " " not in kind.strip():
        value = rest
    return value.strip().strip("<>").strip()


def _blocks_from_text(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
            continue
        if line[:1] in {" ", "\t"} and last:
            current[last] += " " + line.strip()
            continue
        match = _FIELD.match(line)
        if match:
            last = match.group(1).lower()
            current[last] = match.group(2).strip()
    if current:
        blocks.append(current)
    return blocks


def _as_text(block: Message) -> str:
    """A parsed block back to ``Name: value`` lines, plus any body the parser left."""
    lines = [f"{name}: {' '.join(str(value).split())}" for name, value in block.items()]
    body = block.get_payload()
    if isinstance(body, str) and body.strip():
        lines += ["", body]  # the body starts a new block
    return "\n".join(lines)


def _blocks(part: Message) -> list[dict[str, str]]:
    payload = part.get_payload()
    if isinstance(payload, list):
        # message/delivery-status comes split into one header block per recipient;
        # message/global-delivery-status comes as one "message" whose body holds the
        # per-recipient blocks. Text is the one shape both go back to.
        blocks = [b for b in payload if isinstance(b, Message)]
        return _blocks_from_text("\n\n".join(_as_text(b) for b in blocks))
    text = payload if isinstance(payload, str) else text_of(part)
    return _blocks_from_text(text)


def delivery_status_parts(msg: Message) -> list[Message]:
    return [
        p
        for p in walk(msg)
        if p.get_content_type() in {"message/delivery-status", "message/global-delivery-status"}
    ]


def parse_dsn(msg: Message) -> list[DsnRecipient]:
    """Every recipient block of every delivery-status part (empty if there is none)."""
    recipients: list[DsnRecipient] = []
    for part in delivery_status_parts(msg):
        for fields in _blocks(part):
            final = _strip_type(fields.get("final-recipient", ""))
            original = _strip_type(fields.get("original-recipient", ""))
            if not final and not original:
                continue  # the per-message block, or noise
            diagnostic = _strip_type(fields.get("diagnostic-code", ""))
            if not diagnostic:
                diagnostic = fields.get("x-supplementary-info", "").strip("<>")
            recipients.append(
                DsnRecipient(
                    final_recipient=final or original,
                    original_recipient=original,
                    action=fields.get("action", "").strip().lower(),
                    status=fields.get("status", "").strip().split(" ")[0],
                    diagnostic=diagnostic,
                    remote_mta=_strip_type(fields.get("remote-mta", "")),
                )
            )
    return recipients


def original_headers(msg: Message) -> list[Message]:
    """The returned original message (or its headers), from any part that carries it."""
    found: list[Message] = []
    for part in walk(msg):
        ctype = part.get_content_type()
        if ctype in {"message/rfc822", "message/global"} or ctype in _HEADER_PARTS:
            payload = part.get_payload()
            if isinstance(payload, list):  # the mail library parsed it as a message
                found.extend(p for p in payload if isinstance(p, Message))
            elif ctype in _HEADER_PARTS:  # text/rfc822-headers stays text
                found.append(HeaderParser().parsestr(text_of(part)))
    return found


_HEADER_PARTS = {"text/rfc822-headers", "message/rfc822-headers", "message/global-headers"}
