"""Signed, compact tokens for every public per-recipient URL, with key rotation.

Kinds and formats (all ASCII, URL-safe, no padding):

===========  =====================================  ==================================
kind         token                                  URL
===========  =====================================  ==================================
open         ``<outbox>-<mac>``                     ``/o/<token>.gif``
click        ``<outbox>-<campaign>-<link>-<mac>``   ``/c/<token>``
unsubscribe  ``<outbox>-<mac>``                     ``/u/<token>`` (GET page, POST)
preferences  ``<outbox>-<mac>``                     ``/p/<token>``
view         ``<outbox>-<mac>``                     ``/v/<token>``
===========  =====================================  ==================================

Numbers are decimal; ``<mac>`` is 20 hex digits (80 bits) of HMAC-SHA256 over the kind and
the numbers, so a token of one kind never validates as another. The unsubscribe,
preferences and view tokens are exactly those of :mod:`sendwell.compose.links` (already in
sent messages), so no sent link breaks.

Key rotation: a :class:`Keyring` signs with its first (current) key and accepts any of its
keys. Tokens carry no key id — a verifier tries each key, which with the two or three keys a
rotation needs costs microseconds. Links must keep working for at least a year, so a
retired key stays in the ring (setting ``tracking_previous_keys``) for at least a year
after it stopped signing.

Limits: tokens are bearer credentials — anyone holding a message's unsubscribe link can
use it, which is what RFC 8058 intends. Input is bounded (``MAX_TOKEN``) before any work.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sendwell.compose.links import Purpose, link_token

Kind = Literal["o", "c", "u", "p", "v"]

MAX_TOKEN = 120
_SIMPLE = re.compile(r"(\d{1,18})-([0-9a-f]{20})")
_CLICK = re.compile(r"(\d{1,18})-(\d{1,18})-(\d{1,6})-([0-9a-f]{20})")


@dataclass(frozen=True)
class Keyring:
    """Signing keys, newest first: the first signs, all verify."""

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys or any(not k for k in self.keys):
            raise ValueError("a keyring needs at least one non-empty key")

    @classmethod
    def of(cls, current: bytes, previous: Sequence[bytes] = ()) -> Keyring:
        return cls((current, *[k for k in previous if k and k != current]))

    @property
    def current(self) -> bytes:
        return self.keys[0]


@dataclass(frozen=True)
class ClickRef:
    """What a click token names: the delivery, its campaign and the link's number."""

    outbox_id: int
    campaign_id: int
    link: int


def _mac(key: bytes, message: str) -> str:
    return hmac.digest(key, message.encode(), "sha256").hex()[:20]


def _check(ring: Keyring, message: str, mac: str) -> bool:
    return any(hmac.compare_digest(mac, _mac(key, message)) for key in ring.keys)


def _links_message(purpose: Purpose, outbox_id: int) -> str:
    # Must match sendwell.compose.links._mac so already-sent links stay valid.
    return f"link-{purpose}:{outbox_id}"


def sign(kind: Literal["o", "u", "p", "v"], outbox_id: int, ring: Keyring) -> str:
    """The token of one delivery for the open pixel or a public page."""
    if kind == "o":
        return f"{outbox_id}-{_mac(ring.current, f'trk-o:{outbox_id}')}"
    return link_token(kind, outbox_id, ring.current)


def verify(kind: Literal["o", "u", "p", "v"], token: str, ring: Keyring) -> int | None:
    """The outbox id a token names, or None when it is malformed, forged or of another kind."""
    if len(token) > MAX_TOKEN:
        return None
    match = _SIMPLE.fullmatch(token)
    if match is None:
        return None
    outbox_id = int(match.group(1))
    if str(outbox_id) != match.group(1):  # one spelling per token: no leading zeros
        return None
    message = f"trk-o:{outbox_id}" if kind == "o" else _links_message(kind, outbox_id)
    return outbox_id if _check(ring, message, match.group(2)) else None


def sign_click(ref: ClickRef, ring: Keyring) -> str:
    body = f"{ref.outbox_id}-{ref.campaign_id}-{ref.link}"
    return f"{body}-{_mac(ring.current, 'trk-c:' + body)}"


def verify_click(token: str, ring: Keyring) -> ClickRef | None:
    if len(token) > MAX_TOKEN:
        return None
    match = _CLICK.fullmatch(token)
    if match is None:
        return None
    body = f"{int(match.group(1))}-{int(match.group(2))}-{int(match.group(3))}"
    if body != token.rpartition("-")[0] or not _check(ring, "trk-c:" + body, match.group(4)):
        return None
    return ClickRef(int(match.group(1)), int(match.group(2)), int(match.group(3)))
