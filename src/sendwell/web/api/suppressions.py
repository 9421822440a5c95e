"""``/api/v1/suppressions``: addresses never mailed (``sendwell suppressions``).

Suppressions are keyed by the SHA-256 of the normalized address, so listings show the
hash, never the address; filter by ``email`` to find one address's rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from sendwell.app import App
from sendwell.audience.addresses import normalize
from sendwell.audience.lists import get_list
from sendwell.audience.records import SuppressionReason
from sendwell.audience.suppressions import suppress, unsuppress
from sendwell.web.api.common import ERRORS, MAX_ID, NO_NUL, Page, Paging, next_cursor, paging
from sendwell.web.auth import get_app, require_scope
from sendwell.web.queries import suppression_page

router = APIRouter(tags=["suppressions"], responses=ERRORS)


class SuppressionOut(BaseModel):
    id: int
    email_hash: str
    list_id: int | None = Field(description="null: suppressed from every list.")
    reason: str
    detail: str
    created_at: datetime
    expires_at: datetime | None


class SuppressionIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=NO_NUL)
    reason: SuppressionReason = "manual"
    list_id: int | None = Field(None, ge=1, le=MAX_ID, description="Omit for every list.")
    detail: str = Field("", max_length=1000, pattern=NO_NUL)
    expires_at: datetime | None = Field(
        None, description="When the suppression lapses (UTC unless given); omit for never."
    )


class SuppressResult(BaseModel):
    email_hash: str
    added: bool = Field(description="False when the address was already suppressed.")


@router.get("/suppressions", dependencies=[Depends(require_scope("suppressions:read"))])
def list_suppressions(
    page: Paging = Depends(paging),
    reason: SuppressionReason | None = Query(None, description="Only this reason."),
    email: str | None = Query(None, max_length=320, pattern=NO_NUL, description="One address."),
    list_id: int | None = Query(None, ge=1, le=MAX_ID, description="Only this list's ones."),
    a: App = Depends(get_app),
) -> Page[SuppressionOut]:
    email_hash = normalize(email).hash if email else None
    with a.engine.connect() as conn:
        rows = suppression_page(
            conn, limit=page.limit, after=page.after, reason=reason, email_hash=email_hash,
            list_id=list_id,
        )  # fmt: skip
    items = [SuppressionOut(**vars(r)) for r in rows]
    return Page(items=items, next_cursor=next_cursor([r.id for r in rows], page.limit))


@router.post(
    "/suppressions", status_code=201, dependencies=[Depends(require_scope("suppressions:write"))]
)
def post_suppression(body: SuppressionIn, a: App = Depends(get_app)) -> SuppressResult:
    """Suppress an address from every list (or one list)."""
    addr = normalize(body.email)
    with a.engine.begin() as conn:
        if body.list_id is not None:
            get_list(conn, body.list_id)
        expires = body.expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        added = suppress(
            conn, addr.email, reason=body.reason, now=a.clock.now(), list_id=body.list_id,
            detail=body.detail, expires_at=expires,
        )  # fmt: skip
    return SuppressResult(email_hash=addr.hash, added=added)


class LiftResult(BaseModel):
    removed: int = Field(description="Suppression rows lifted (erasures are never lifted).")


@router.delete("/suppressions", dependencies=[Depends(require_scope("suppressions:write"))])
def delete_suppression(
    email: str = Query(..., min_length=3, max_length=320, pattern=NO_NUL),
    list_id: int | None = Query(None, ge=1, le=MAX_ID, description="Omit for the global one."),
    a: App = Depends(get_app),
) -> LiftResult:
    """Lift an address's suppression (as ``sendwell suppressions remove``)."""
    with a.engine.begin() as conn:
        return LiftResult(removed=unsuppress(conn, email, list_id=list_id))
