"""Signed opaque tokens that identify an outbox row from inside a reported message.

Two places carry one:

* the ``X-Sendwell-Ref`` header of every campaign message. Feedback-loop reports (ARF,
  RFC 5965) quote the reported message's headers even when the provider redacts the
  recipient's address, so the token still names the delivery. Bounces that lost their
  VERP envelope (forwarded, or relayed through a provider) are matched the same way.
* the mailto unsubscribe address ``u-<id>-<sig>@<bounce domain>`` (RFC 2369
  ``List-Unsubscribe``), so a reply to it unsubscribes exactly that recipient.

Token format: ``<outbox id in base 10>.<16 hex digits of HMAC-SHA256>``, e.g.
``1234.9f86d081884c7d65``. It reveals the row number (not the address) and nothing else;
the 64-bit signature makes forging a reference for another row impractical. The HMAC
message is prefixed by the purpose (``ref:`` / ``unsub:``), so a token of one kind never
validates as the other, nor as a VERP signature.
"""

from __future__ import annotations

import hmac
import re

REFERENCE_HEADER = "X-Sendwell-Ref"

_TOKEN = re.compile(r"^\s*<?(\d{1,20})\.([0-9a-f]{16})>?\s*$", re.IGNORECASE)
_UNSUB = re.compile(r"^u-(\d{1,20})-([0-9a-f]{12})@", re.IGNORECASE)


def _mac(purpose: str, outbox_id: int, key: bytes, length: int) -> str:
    return hmac.digest(key, f"{purpose}:{outbox_id}".encode(), "sha256").hex()[:length]


def reference_token(outbox_id: int, key: bytes) -> str:
    """The value of ``X-Sendwell-Ref`` for one outbox row."""
    return f"{outbox_id}.{_mac('ref', outbox_id, key, 16)}"


def parse_reference(token: str, key: bytes) -> int | None:
    """The outbox id a reference token names, or None if it is malformed or forged."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    outbox_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2).lower(), _mac("ref", outbox_id, key, 16)):
        return None
    return outbox_id


def unsubscribe_address(outbox_id: int, domain: str, key: bytes) -> str:
    """The mailto address for ``List-Unsubscribe`` of one outbox row."""
    return f"u-{outbox_id}-{_mac('unsub', outbox_id, key, 12)}@{domain}"


def parse_unsubscribe_address(address: str, key: bytes) -> int | None:
    """The outbox id an unsubscribe address names, or None if it is not a valid one."""
    match = _UNSUB.match(address.strip().strip("<>"))
    if match is None:
        return None
    outbox_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2).lower(), _mac("unsub", outbox_id, key, 12)):
        return None
    return outbox_id
