"""Per-recipient public URLs: one-click unsubscribe, preferences, view in browser.

Each URL carries a signed token naming the outbox row, so the page it opens knows exactly
which delivery (campaign and subscriber) it is about without a login, and a made-up token
is refused. The URLs are ``{public_url}/u/{token}`` (unsubscribe; the same URL answers the
RFC 8058 one-click ``POST``), ``/p/{token}`` (preferences) and ``/v/{token}`` (view in
browser).

Token: ``<outbox id>-<20 hex digits of HMAC-SHA256>``; the HMAC input is prefixed with the
purpose, so an unsubscribe token is not a valid preferences token, a VERP signature or a
reference header.

The HTTP handlers are ``sendwell.web.tracking``; ``sendwell.tracking.tokens`` verifies
these tokens against every key of a rotation keyring (this module signs with one key).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Literal

Purpose = Literal["u", "p", "v"]

_TOKEN = re.compile(r"^(\d{1,20})-([0-9a-f]{20})$")


def _mac(purpose: Purpose, outbox_id: int, key: bytes) -> str:
    return hmac.digest(key, f"link-{purpose}:{outbox_id}".encode(), "sha256").hex()[:20]


def link_token(purpose: Purpose, outbox_id: int, key: bytes) -> str:
    return f"{outbox_id}-{_mac(purpose, outbox_id, key)}"


def parse_link_token(purpose: Purpose, token: str, key: bytes) -> int | None:
    """The outbox id a token names, or None if it is malformed, forged or of another kind."""
    match = _TOKEN.match(token.strip())
    if match is None:
        return None
    outbox_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2), _mac(purpose, outbox_id, key)):
        return None
    return outbox_id


@dataclass(frozen=True)
class RecipientLinks:
    """The public URLs of one delivery, as templates and headers use them."""

    unsubscribe: str
    preferences: str
    view: str


def recipient_links(public_url: str, outbox_id: int, key: bytes) -> RecipientLinks:
    base = public_url.rstrip("/")
    return RecipientLinks(
        unsubscribe=f"{base}/u/{link_token('u', outbox_id, key)}",
        preferences=f"{base}/p/{link_token('p', outbox_id, key)}",
        view=f"{base}/v/{link_token('v', outbox_id, key)}",
    )
