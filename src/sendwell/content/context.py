"""The names a campaign template may use, and sample values to check templates with.

The message builder (``campaigns.builder``) assembles the real context for each
recipient; this module declares the same names so that templates can be checked when
they are saved, long before anyone is mailed. A test renders every name declared here
through the builder, so the two cannot drift apart.

Two samples: the *full* one has every standard subscriber field plus every custom
attribute seen among recent subscribers (with a value actually seen, so arithmetic and
comparisons behave as they will), and the *minimal* one has only what every subscriber
has — an address. A template that renders with the first but not the second fails for
some real subscribers: a missing fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sendwell.content.templates import subscriber_context

# Top-level names in every campaign template, and the keys of the fixed-shape objects.
CONTEXT_NAMES = frozenset(
    {"subscriber", "campaign", "sender", "unsubscribe_url", "preferences_url", "view_url"}
)
LAYOUT_NAMES = CONTEXT_NAMES | {"content"}
SUBSCRIBER_FIELDS = frozenset({"email", "first_name", "last_name", "name", "attributes"})
CAMPAIGN_KEYS = frozenset({"id", "name", "subject"})
SENDER_KEYS = frozenset({"organization", "postal_address", "name", "email"})
FIXED_KEYS: Mapping[str, frozenset[str]] = {"campaign": CAMPAIGN_KEYS, "sender": SENDER_KEYS}

SAMPLE_URL = "https://sendwell.invalid/sample"


def sample_context(
    *, full: bool, attributes: Mapping[str, Any], layout: bool = False
) -> dict[str, Any]:
    """A context shaped like the builder's, with sample values."""
    if full:
        subscriber = subscriber_context(
            email="ada@example.com", first_name="Ada", last_name="Lovelace", attributes=attributes
        )
    else:
        subscriber = subscriber_context(
            email="ada@example.com", first_name=None, last_name=None, attributes={}
        )
    ctx: dict[str, Any] = {
        "subscriber": subscriber,
        "campaign": {"id": 1, "name": "Sample campaign", "subject": "Sample subject"},
        "sender": {
            "organization": "Example Ltd",
            "postal_address": "1 Sample Street, Springfield",
            "name": "Example News",
            "email": "news@example.com",
        },
        "unsubscribe_url": f"{SAMPLE_URL}/u",
        "preferences_url": f"{SAMPLE_URL}/p",
        "view_url": f"{SAMPLE_URL}/v",
    }
    if layout:
        ctx["content"] = ""
    return ctx
