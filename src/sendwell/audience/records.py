"""Typed records of the audience, passed between modules instead of row dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

OptIn = Literal["single", "double"]
SubscriptionStatus = Literal["unconfirmed", "confirmed", "unsubscribed"]
SuppressionReason = Literal["hard_bounce", "complaint", "unsubscribe", "manual", "erased"]


@dataclass(frozen=True)
class MailingList:
    id: int
    name: str
    description: str
    optin: OptIn
    created_at: datetime


@dataclass(frozen=True)
class NewSubscriber:
    """What a caller supplies to add or update a subscriber."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    domain: str
    first_name: str | None
    last_name: str | None
    attributes: dict[str, Any]
    status: str
    created_at: datetime
