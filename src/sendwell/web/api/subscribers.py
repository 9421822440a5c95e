"""``/api/v1/subscribers``: search, read and add subscribers (``sendwell subscribers``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from sendwell.accounts.tokens import ApiToken
from sendwell.app import App
from sendwell.audience.addresses import address_hash
from sendwell.audience.consent import Evidence, check_basis, record
from sendwell.audience.lists import get_list
from sendwell.audience.records import NewSubscriber, Subscriber
from sendwell.audience.subscribers import add_subscribers, get_subscriber
from sendwell.errors import NotFound
from sendwell.verify.service import StoredVerification, latest_verification
from sendwell.web.api.common import ERRORS, MAX_ID, NO_NUL, Page, Paging, next_cursor, paging
from sendwell.web.auth import client_ip, get_app, require_scope
from sendwell.web.queries import subscriber_by_id, subscriber_page, subscriptions_of

router = APIRouter(tags=["subscribers"], responses=ERRORS)


class SubscriberOut(BaseModel):
    id: int
    email: str
    first_name: str | None
    last_name: str | None
    attributes: dict[str, Any]
    status: str
    created_at: datetime


class SubscriptionOut(BaseModel):
    list_id: int
    list_name: str
    status: str
    created_at: datetime
    updated_at: datetime


class VerificationOut(BaseModel):
    verdict: str = Field(description="valid | risky | invalid | unknown")
    score: int
    reasons: list[str] = Field(description="Reason codes, as `sendwell verify --json` gives.")
    suggestion: str | None
    disposable: bool
    role: bool
    free: bool
    checked_at: datetime


class SubscriberDetail(SubscriberOut):
    subscriptions: list[SubscriptionOut]
    verification: VerificationOut | None = Field(
        None, description="The latest address verification; null when never verified."
    )


class SubscriberIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=NO_NUL)
    list_id: int = Field(ge=1, le=MAX_ID)
    first_name: str | None = Field(None, max_length=200, pattern=NO_NUL)
    last_name: str | None = Field(None, max_length=200, pattern=NO_NUL)
    attributes: dict[str, str | int | bool] = Field(default_factory=dict, max_length=100)
    basis: Literal["consent", "soft_opt_in"] = Field(
        "consent", description="Lawful basis recorded in the consent log."
    )
    wording: str | None = Field(
        None, max_length=5000, pattern=NO_NUL, description="Consent wording agreed to."
    )
    wording_version: str | None = Field(None, max_length=100, pattern=NO_NUL)


class AddResult(BaseModel):
    added: bool = Field(description="False when the subscriber existed and was updated.")
    subscriber: SubscriberOut


def verification_out(checked: StoredVerification | None) -> VerificationOut | None:
    if checked is None:
        return None
    return VerificationOut(**{**vars(checked), "reasons": list(checked.reasons)})


def subscriber_out(s: Subscriber) -> SubscriberOut:
    return SubscriberOut(
        id=s.id, email=s.email, first_name=s.first_name, last_name=s.last_name,
        attributes=s.attributes, status=s.status, created_at=s.created_at,
    )  # fmt: skip


@router.get("/subscribers", dependencies=[Depends(require_scope("subscribers:read"))])
def list_subscribers(
    page: Paging = Depends(paging),
    search: str = Query("", max_length=320, pattern=NO_NUL, description="Part of address/name."),
    list_id: int | None = Query(None, ge=1, le=MAX_ID, description="Only members of this list."),
    status: str | None = Query(None, max_length=20, pattern=NO_NUL, description="e.g. active."),
    a: App = Depends(get_app),
) -> Page[SubscriberOut]:
    """Subscribers by id, filtered by search text, list membership and status."""
    with a.engine.connect() as conn:
        rows = subscriber_page(
            conn, limit=page.limit, after=page.after, search=search.strip(), list_id=list_id,
            status=status,
        )  # fmt: skip
    return Page(
        items=[subscriber_out(s) for s in rows],
        next_cursor=next_cursor([s.id for s in rows], page.limit),
    )


@router.get(
    "/subscribers/{subscriber_id}", dependencies=[Depends(require_scope("subscribers:read"))]
)
def get_one(
    subscriber_id: int = Path(ge=1, le=MAX_ID), a: App = Depends(get_app)
) -> SubscriberDetail:
    """One subscriber with every list subscription and its status."""
    with a.engine.connect() as conn:
        s = subscriber_by_id(conn, subscriber_id)
        if s is None:
            raise NotFound(f"no subscriber with id {subscriber_id}")
        subs = subscriptions_of(conn, subscriber_id)
        checked = latest_verification(conn, address_hash(s.email))
    return SubscriberDetail(
        **subscriber_out(s).model_dump(),
        subscriptions=[SubscriptionOut(**vars(x)) for x in subs],
        verification=verification_out(checked),
    )


@router.post("/subscribers", status_code=201)
def post_subscriber(
    body: SubscriberIn,
    request: Request,
    token: ApiToken = Depends(require_scope("subscribers:write")),
    a: App = Depends(get_app),
) -> AddResult:
    """Add a subscriber to a list, or update them (as ``sendwell subscribers add``), and
    log the consent with the token as its source.

    On a double opt-in list the subscription stays unconfirmed until they confirm.
    """
    person = NewSubscriber(body.email, body.first_name, body.last_name, dict(body.attributes))
    now = a.clock.now()
    with a.engine.begin() as conn:
        ml = get_list(conn, body.list_id)
        result = add_subscribers(conn, [person], mailing_list=ml, now=now)
        s = get_subscriber(conn, body.email)
        record(
            conn, at=now, email_hash=address_hash(s.email), action="subscribe",
            evidence=Evidence(
                source="api", source_ref=f"token:{token.id}", ip=client_ip(request),
                method="manual", lawful_basis=check_basis(body.basis),
                wording=body.wording, wording_version=body.wording_version,
            ),
            subscriber_id=s.id, list_id=ml.id,
        )  # fmt: skip
    return AddResult(added=bool(result.added), subscriber=subscriber_out(s))
