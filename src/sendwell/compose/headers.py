"""The bulk-mail headers of a campaign message, built from typed inputs.

* ``List-Unsubscribe`` (RFC 2369) with the HTTPS one-click URL first and a mailto second,
  and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058): Gmail and Yahoo
  require both from bulk senders, and the URL must be HTTPS for one-click to count.
* ``Feedback-ID`` (Gmail's feedback loop): ``<campaign>:<list>:<stream>:<sender>``; Gmail
  aggregates complaint rates by each field, so the campaign comes first.
* ``X-Sendwell-Ref``: the opaque, signed outbox reference that survives in ARF reports.

Header values are sanitized by ``compose.message`` (CR/LF/NUL become spaces); this module
additionally keeps ``:`` out of Feedback-ID fields, since it is the field separator.
"""

from __future__ import annotations

from dataclasses import dataclass

from sendwell.compose.reference import REFERENCE_HEADER


@dataclass(frozen=True)
class BulkHeaders:
    """What varies per message in the bulk headers."""

    unsubscribe_url: str
    unsubscribe_mailto: str
    campaign_id: int
    list_id: int | None
    stream: str
    sender_id: str
    reference: str


def feedback_id(campaign_id: int, list_id: int | None, stream: str, sender_id: str) -> str:
    fields = [str(campaign_id), "" if list_id is None else str(list_id), stream, sender_id]
    return ":".join(f.replace(":", "-").strip() for f in fields)


def bulk_headers(h: BulkHeaders) -> list[tuple[str, str]]:
    """The headers in the order they appear in the message (all of them DKIM-signed)."""
    return [
        ("List-Unsubscribe", f"<{h.unsubscribe_url}>, <mailto:{h.unsubscribe_mailto}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Feedback-ID", feedback_id(h.campaign_id, h.list_id, h.stream, h.sender_id)),
        (REFERENCE_HEADER, h.reference),
    ]
