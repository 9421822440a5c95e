"""VERP return paths that identify the outbox row, signed so bounces cannot be forged.

The envelope sender of each message is ``b-<outbox id>-<signature>@<bounce domain>``. A
bounce returned to that address names the exact delivery it is about, whatever the
remote MTA's DSN format. The signature (truncated HMAC-SHA256 under the sendwell secret
key) lets the inbound server ignore bounces to made-up addresses, so a forged bounce
cannot suppress anyone.
"""

from __future__ import annotations

import hmac
import re

_PATTERN = re.compile(r"^b-(\d{1,20})-([0-9a-z]{10})@", re.IGNORECASE)


def _signature(outbox_id: int, key: bytes) -> str:
    digest = hmac.digest(key, f"verp:{outbox_id}".encode(), "sha256").hex()
    return digest[:10]


def verp_address(outbox_id: int, domain: str, key: bytes) -> str:
    return f"b-{outbox_id}-{_signature(outbox_id, key)}@{domain}"


def parse_verp(address: str, key: bytes) -> int | None:
    """The outbox id a VERP address names, or None if it is not one of ours."""
    match = _PATTERN.match(address.strip().strip("<>"))
    if match is None:
        return None
    outbox_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2).lower(), _signature(outbox_id, key)):
        return None
    return outbox_id
