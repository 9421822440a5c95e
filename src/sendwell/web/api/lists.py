"""``/api/v1/lists``: mailing lists (the ``sendwell lists`` commands)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from sendwell.app import App
from sendwell.audience.lists import all_lists, create_list, get_list
from sendwell.audience.records import MailingList
from sendwell.web.api.common import ERRORS, MAX_ID, NO_NUL, Page, Paging, next_cursor, paging
from sendwell.web.auth import get_app, require_scope

router = APIRouter(tags=["lists"], responses=ERRORS)


class ListOut(BaseModel):
    id: int
    name: str
    description: str
    optin: Literal["single", "double"]
    created_at: datetime
    confirmed: int | None = Field(None, description="Confirmed subscribers (in listings).")


class ListIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    description: str = Field("", max_length=10_000, pattern=NO_NUL)
    optin: Literal["single", "double"] = "single"


def _out(ml: MailingList, confirmed: int | None = None) -> ListOut:
    return ListOut(
        id=ml.id, name=ml.name, description=ml.description, optin=ml.optin,
        created_at=ml.created_at, confirmed=confirmed,
    )  # fmt: skip


@router.get("/lists", dependencies=[Depends(require_scope("lists:read"))])
def list_lists(page: Paging = Depends(paging), a: App = Depends(get_app)) -> Page[ListOut]:
    """Every list with its number of confirmed subscribers, by id."""
    with a.engine.connect() as conn:
        rows = [(ml, n) for ml, n in all_lists(conn) if ml.id > page.after][: page.limit]
    items = [_out(ml, n) for ml, n in rows]
    return Page(items=items, next_cursor=next_cursor([i.id for i in items], page.limit))


@router.post("/lists", status_code=201, dependencies=[Depends(require_scope("lists:write"))])
def post_list(body: ListIn, a: App = Depends(get_app)) -> ListOut:
    """Create a list (409 if the name is taken)."""
    with a.engine.begin() as conn:
        ml = create_list(
            conn, body.name, now=a.clock.now(), description=body.description, optin=body.optin
        )
    return _out(ml)


@router.get("/lists/{list_id}", dependencies=[Depends(require_scope("lists:read"))])
def get_one(list_id: int = Path(ge=1, le=MAX_ID), a: App = Depends(get_app)) -> ListOut:
    with a.engine.connect() as conn:
        return _out(get_list(conn, list_id))
