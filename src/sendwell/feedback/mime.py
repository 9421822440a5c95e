"""Tolerant reading of untrusted MIME: bounded size, never an exception.

Feedback messages are written by strangers, so every accessor here returns something
usable (possibly empty) for malformed, truncated or hostile input. Messages larger than
``max_bytes`` are cut before parsing: everything a DSN or ARF report says is in its
first parts, and parsing 50 MB of attachment buys nothing but memory.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from email.message import Message

DEFAULT_MAX_BYTES = 2 * 1024 * 1024

_TAGS = re.compile(r"<[^>]{0,2000}>")


def parse_bytes(raw: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Message:
    """Parse a message leniently (compat32 records defects instead of raising)."""
    parser = email.parser.BytesParser(policy=email.policy.compat32)
    return parser.parsebytes(raw[:max_bytes])


def header(msg: Message, name: str) -> str:
    """One header as a single unfolded line ("" if absent or undecodable)."""
    try:
        value = msg.get(name)
        if value is None:
            return ""
        return " ".join(str(value).split())
    except Exception:  # a broken encoded-word must not stop the parse
        return ""


def text_of(part: Message) -> str:
    """The decoded text of a non-multipart part ("" if it has none)."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        return ""
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except LookupError:
        text = payload.decode("utf-8", errors="replace")
    if part.get_content_type() == "text/html":
        text = _TAGS.sub(" ", text).replace("&nbsp;", " ").replace("&amp;", "&")
    return text


def walk(msg: Message, limit: int = 200) -> list[Message]:
    """All parts, depth-first, at most ``limit`` of them (defends against part bombs)."""
    parts: list[Message] = []
    stack = [msg]
    while stack and len(parts) < limit:
        part = stack.pop()
        parts.append(part)
        try:
            payload = part.get_payload()
        except Exception:  # noqa: S112 - an unreadable part simply has no children
            continue
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
    return parts


def body_text(msg: Message) -> str:
    """The human-readable text of a message: its text/plain (else text/html) parts."""
    texts = []
    for part in walk(msg):
        ctype = part.get_content_type()
        if ctype in {"text/plain", "text/html"} and not part.is_multipart():
            texts.append(text_of(part))
    plain = [t for t in texts if t]
    return "\n".join(plain)


def raw_text(raw: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The undecoded bytes as text, for searching signed tokens anywhere in a message."""
    return raw[:max_bytes].decode("utf-8", errors="replace")
