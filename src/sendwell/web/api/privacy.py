"""``/api/v1/privacy``: one person's data exported or erased (``sendwell subscribers
export|erase``; GDPR articles 15, 17 and 20).

Both take the address in a JSON body rather than the URL, so it does not end up in
access logs. An erasure deletes the subscriber, their consent log and events, anonymizes
their delivery records and keeps the address hash suppressed for good
(``audience.privacy``); the consent log records who asked (the token).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from sendwell.accounts.tokens import ApiToken
from sendwell.app import App
from sendwell.audience.privacy import erase_person, export_person
from sendwell.web.api.common import ERRORS, NO_NUL
from sendwell.web.auth import get_app, require_scope

router = APIRouter(tags=["privacy"], responses=ERRORS)


class PersonIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=NO_NUL)


class ErasureOut(BaseModel):
    email_hash: str = Field(description="The hash the address stays suppressed under.")
    subscriber_deleted: bool = Field(description="False when there was no subscriber row.")
    consent_entries_deleted: int
    events_deleted: int
    deliveries_anonymized: int


@router.post("/privacy/export", dependencies=[Depends(require_scope("subscribers:read"))])
def export(body: PersonIn, a: App = Depends(get_app)) -> dict[str, Any]:
    """Everything stored about one address: the subscriber, subscriptions, consent log,
    suppressions, delivery records and events (404 when nothing is)."""
    with a.engine.connect() as conn:
        return export_person(conn, body.email)


@router.post("/privacy/erase")
def erase(
    body: PersonIn,
    token: ApiToken = Depends(require_scope("subscribers:write")),
    a: App = Depends(get_app),
) -> ErasureOut:
    """Erase one person; their address hash stays suppressed so they are never mailed or
    imported again. Cannot be undone."""
    with a.engine.begin() as conn:
        done = erase_person(
            conn, body.email, now=a.clock.now(), requested_by=f"api token {token.id}"
        )
    return ErasureOut(
        email_hash=done.email_hash, subscriber_deleted=done.subscriber_deleted,
        consent_entries_deleted=done.consent_entries_deleted,
        events_deleted=done.events_deleted, deliveries_anonymized=done.deliveries_anonymized,
    )  # fmt: skip
