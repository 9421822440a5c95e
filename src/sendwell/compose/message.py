"""Build the RFC 5322 bytes of one campaign message.

The message is ``multipart/alternative`` with a text part first and an HTML part second,
both UTF-8 and quoted-printable (safe over any SMTP server, readable in raw form, and
lines never exceed 76 characters). It is assembled directly as bytes rather than through
``email.message.EmailMessage``: the structure is fixed, and building per recipient on the
delivery hot path through the generic object model costs milliseconds per message.
Headers are still encoded with the standard library's RFC 2047 encoder.

Header injection is impossible by construction: every header value passes through
:func:`_clean`, which turns every control character but TAB (CR, LF, NUL, VT, FF, DEL,
the C1 range with NEL) and the Unicode line and paragraph separators into spaces, so a
subscriber field containing ``"\\r\\nBcc: ..."`` cannot start a new header, and no
parser that splits lines on more than CRLF (``str.splitlines``) can be made to either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from functools import lru_cache

from sendwell.compose import qp

_SEPARATORS = [*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
_CTRL = str.maketrans(dict.fromkeys(_SEPARATORS, " "))


@dataclass(frozen=True)
class MessageParts:
    """Everything that varies between two messages of a campaign."""

    from_name: str
    from_email: str
    to_email: str
    subject: str
    html: str
    text: str
    message_id: str
    date: datetime
    extra_headers: Sequence[tuple[str, str]] = field(default_factory=tuple)


def _clean(value: str) -> str:
    # Every character _CTRL replaces is unprintable; most values have none, and the test
    # is far cheaper than a translation.
    return value if value.isprintable() else value.translate(_CTRL)


def _header(name: str, value: str) -> bytes:
    value = _clean(value)
    # Text that looks like an RFC 2047 encoded word ("=?utf-8?q?=0D=0A...?=") would be
    # decoded by the reader's client into whatever it hides; encoding the whole value
    # makes it decode back to the literal text instead.
    if value.isascii() and "=?" not in value:
        if len(name) + len(value) < 76:
            return f"{name}: {value}\r\n".encode("ascii")
        return _fold_ascii(name, value)
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n".encode("ascii")


def _fold_ascii(name: str, value: str) -> bytes:
    """Fold a long ASCII header at spaces so lines stay near 78 characters (RFC 5322 2.2.3).

    The standard library's ``Header`` does the same far more slowly; bulk headers such as
    ``List-Unsubscribe`` are long on every message. A word longer than a line stays whole
    (lines may reach 998 characters).
    """
    lines = []
    line = f"{name}:"
    for word in value.split(" "):
        if len(line) + 1 + len(word) > 78 and line.strip() and line != f"{name}:":
            lines.append(line)
            line = f" {word}"
        else:
            line = f"{line} {word}"
    lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


@lru_cache(maxsize=64)
def _sender_header(display: str, address: str) -> bytes:
    """The From field: the same for every message of a campaign."""
    return _address_header("From", display, address)


@lru_cache(maxsize=8)
def _date_header(date: datetime) -> bytes:
    return _header("Date", format_datetime(date))


def _address_header(name: str, display: str, address: str) -> bytes:
    display = _clean(display)
    address = _clean(address)
    if display.isascii() and address.isascii() and "=?" not in display:
        return f"{name}: {formataddr((display, address))}\r\n".encode("ascii")
    if address.isascii():
        # formataddr applies RFC 2047 to a non-ASCII display name.
        rendered = formataddr((display, address), charset="utf-8")
        return f"{name}: {rendered}\r\n".encode("ascii")
    # An internationalized address (RFC 6531) stays raw UTF-8 (RFC 6532), which only an
    # SMTPUTF8 session may carry — the caller arranges one. formataddr refuses such an
    # address, so it formats the display name around a stand-in.
    if not display:
        return f"{name}: {address}\r\n".encode()
    shown = formataddr((display, "x@x"), charset="utf-8").removesuffix(" <x@x>")
    return f"{name}: {shown} <{address}>\r\n".encode()


def build_message(parts: MessageParts) -> bytes:
    """The complete message, CRLF line endings, ready for SMTP DATA."""
    boundary = "=_sw_" + hashlib.blake2b(parts.message_id.encode(), digest_size=12).hexdigest()
    head = b"".join(
        [
            _sender_header(parts.from_name, parts.from_email),
            _address_header("To", "", parts.to_email),
            _header("Subject", parts.subject),
            _date_header(parts.date.replace(microsecond=0)),
            _header("Message-ID", parts.message_id),
            b"MIME-Version: 1.0\r\n",
            *(_header(name, value) for name, value in parts.extra_headers),
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'.encode(),
        ]
    )
    sep = f"--{boundary}\r\n".encode()
    part_head = (
        b"Content-Type: text/%s; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    text = qp.encode(parts.text)
    html = qp.encode(parts.html)
    return b"".join(
        [
            head,
            b"\r\n",
            sep,
            part_head % b"plain",
            text,
            b"" if text.endswith(b"\r\n") else b"\r\n",
            sep,
            part_head % b"html",
            html,
            b"" if html.endswith(b"\r\n") else b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
    )
