"""Content spam scores: SpamAssassin's ``spamd`` when it answers, built-in heuristics otherwise.

``spamd_score`` speaks the SPAMC/1.5 protocol (``CHECK``) over TCP and returns the score
SpamAssassin gives the exact message bytes. ``heuristic_score`` is a small stand-in for
machines without spamd: a few rules in the spirit of SpamAssassin's (shouting, money
words, link-heavy, missing text, image-only), on SpamAssassin's scale (5.0 = spam).

Limits: spamd runs without network tests here (no RBL/URIBL lookups from a sandbox), so
its score judges content only. The heuristics are rough; treat them as a smoke alarm.
"""

from __future__ import annotations

import re
import socket

from sendwell.errors import SendwellError

_RESULT = re.compile(rb"Spam:\s*(True|False|Yes|No)\s*;\s*(-?[\d.]+)\s*/\s*(-?[\d.]+)", re.I)
_MONEY = re.compile(
    r"\b(free|winner|cash|guarantee[d]?|act now|urgent|risk[- ]free|100% |click here)\b", re.I
)


def spamd_score(data: bytes, host: str, port: int, *, timeout: float = 10.0) -> float | None:
    """SpamAssassin's score for the message, or None when spamd does not answer."""
    request = (
        f"CHECK SPAMC/1.5\r\nContent-length: {len(data)}\r\nUser: sendwell\r\n\r\n".encode() + data
    )
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
    except OSError:
        return None
    match = _RESULT.search(reply)
    if match is None:
        raise SendwellError(f"spamd answered something unexpected: {reply[:80]!r}")
    return float(match.group(2))


def heuristic_score(subject: str, html: str, text: str) -> float:
    """A rough SpamAssassin-scale score from a few content rules."""
    score = 0.0
    letters = [c for c in subject if c.isalpha()]
    if len(letters) >= 10 and sum(c.isupper() for c in letters) > 0.7 * len(letters):
        score += 1.5
    if subject.count("!") >= 2:
        score += 0.8
    body = text + " " + subject
    score += min(2.5, 0.5 * len(_MONEY.findall(body)))
    words = len(text.split())
    links = len(re.findall(r"<a\s", html, re.I))
    if words and links > max(3, words // 20):
        score += 1.0
    if words < 20 and re.search(r"<img\s", html, re.I):
        score += 1.5  # image-only mail
    if not text.strip():
        score += 1.0
    return round(score, 1)
