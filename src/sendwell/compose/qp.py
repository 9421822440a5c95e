"""Quoted-printable body encoding (RFC 2045 §6.7), fast enough for every recipient.

Each campaign message carries two personalized parts of a few kilobytes, so encoding runs
twice per recipient on the delivery hot path. The standard library's ``binascii.b2a_qp``
walks the bytes one by one and was the largest single cost of building a message after
the RSA signature. For the common case — ASCII text such as most HTML — this encoder does
the same job with whole-buffer operations: ``=`` is escaped with one ``replace``, and only
lines longer than 76 characters or ending in whitespace are visited one by one (a soft
break every 75 characters). Text with non-ASCII or control characters is left to
``b2a_qp``, whose rare overlong line (77 characters, when it encodes a trailing space at
the wrapping point) is re-wrapped.

The output is plain ASCII with CRLF line breaks, no line longer than 76 characters, no
line ending in a space or tab, and decodes (``binascii.a2b_qp``) to the input with its
line breaks made CRLF. A line that starts with ``.`` is left alone: SMTP dot-stuffing is
the transport's job.
"""

from __future__ import annotations

import binascii

MAX_LINE = 76  # RFC 2045 §6.7 rule 5: encoded lines are at most 76 characters

# Bytes that stand for themselves (TAB and space only inside a line) or are line breaks.
_SAFE = bytes([9, 10, *range(32, 127)])
_WSP_END = (b" ", b"\t")


def _wrap(line: bytes) -> bytes:
    """One escaped line as encoded lines: soft breaks, never inside an =XX triplet."""
    if line.endswith(_WSP_END):
        # Rule 3: trailing whitespace would be stripped in transport; encode it.
        line = line[:-1] + (b"=20" if line[-1:] == b" " else b"=09")
    if len(line) <= MAX_LINE:
        return line
    step = MAX_LINE - 1  # room for the "=" of the soft break
    if b"=" not in line:  # nothing to keep whole: a break every ``step`` characters
        starts = range(0, len(line) - MAX_LINE, step)
        pieces = [line[start : start + step] for start in starts]
        pieces.append(line[len(starts) * step :])
        return b"=\r\n".join(pieces)
    pieces = []
    start = 0
    last = len(line) - MAX_LINE  # past this, the rest fits on one line
    while start < last:
        cut = start + step
        escape = line.rfind(b"=", cut - 2, cut)  # a triplet that would straddle the cut
        if escape >= 0:
            cut = escape
        pieces.append(line[start:cut])
        start = cut
    pieces.append(line[start:])
    return b"=\r\n".join(pieces)


def encode(text: str) -> bytes:
    """``text`` (any line endings) as quoted-printable UTF-8 with CRLF line breaks."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    data = text.encode("utf-8")
    if data.translate(None, _SAFE):
        # Non-ASCII or control characters: the stdlib's byte-by-byte encoder escapes them
        # faster than Python could.
        encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
        lines = encoded.split(b"\n")
        if max(map(len, lines)) > MAX_LINE:
            # b2a_qp leaves a 77-character line when it encodes a trailing space at the
            # wrapping point: its soft breaks are redone.
            lines = [_wrap(line) for line in encoded.replace(b"=\n", b"").split(b"\n")]
        return b"\r\n".join(lines)
    data = data.replace(b"=", b"=3D")
    lines = data.split(b"\n")
    if (
        max(map(len, lines)) > MAX_LINE
        or b" \n" in data
        or b"\t\n" in data
        or data.endswith(_WSP_END)
    ):
        lines = [
            _wrap(line) if len(line) > MAX_LINE or line.endswith(_WSP_END) else line
            for line in lines
        ]
    return b"\r\n".join(lines)
