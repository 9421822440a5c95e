"""``/api/v1/segments``: saved subscriber filters (``sendwell segments``) with live counts.

A segment's ``definition`` is the JSON filter language of ``audience.segments`` (for
example ``{"all": [{"list": 1}, {"attr": "plan", "op": "=", "value": "pro"}]}``); a
malformed one is refused with 422 naming the problem. ``POST /segments/count`` counts an
unsaved definition, for editors that show the audience size while a filter is written.
Counts are of active subscribers, computed when asked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field
from sqlalchemy import select

from sendwell.app import App
from sendwell.audience.segments import (
    count_matching,
    create_segment,
    delete_segment,
    get_segment,
    matching_ids,
    update_segment,
)
from sendwell.store.schema_audience import segments
from sendwell.web.api.common import ERRORS, MAX_ID, NO_NUL, Page, Paging, next_cursor, paging
from sendwell.web.api.subscribers import SubscriberOut, subscriber_out
from sendwell.web.auth import get_app, require_scope
from sendwell.web.queries import subscriber_by_id

router = APIRouter(tags=["segments"], responses=ERRORS)
READ = [Depends(require_scope("segments:read"))]
WRITE = [Depends(require_scope("segments:write"))]
SegmentId = Path(ge=1, le=MAX_ID)
DEFINITION = (
    'A filter in the segment language, e.g. {"all": [{"list": 1}, {"attr": "plan", '
    '"op": "=", "value": "pro"}]} (docs/audience.md).'
)


class SegmentOut(BaseModel):
    id: int
    name: str
    definition: dict[str, Any]
    created_at: datetime
    matching: int | None = Field(None, description="Active subscribers matching now.")


class SegmentIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    definition: dict[str, Any] = Field(description=DEFINITION)


class SegmentPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)
    definition: dict[str, Any] | None = Field(None, description=DEFINITION)


class DefinitionIn(BaseModel):
    definition: dict[str, Any] = Field(description=DEFINITION)


class CountOut(BaseModel):
    matching: int = Field(description="Active subscribers the definition matches now.")


def _out(a: App, segment_id: int, *, count: bool) -> SegmentOut:
    with a.engine.connect() as conn:
        sid, name, definition = get_segment(conn, segment_id)
        created = conn.execute(
            select(segments.c.created_at).where(segments.c.id == sid)
        ).scalar_one()
        n = count_matching(conn, definition, now=a.clock.now()) if count else None
    return SegmentOut(id=sid, name=name, definition=definition, created_at=created, matching=n)


@router.get("/segments", dependencies=READ)
def list_segments(page: Paging = Depends(paging), a: App = Depends(get_app)) -> Page[SegmentOut]:
    """Saved segments by id (without counts: ask one segment for its count)."""
    with a.engine.connect() as conn:
        rows = conn.execute(
            select(segments)
            .where(segments.c.id > page.after)
            .order_by(segments.c.id)
            .limit(page.limit)
        ).all()
    items = [
        SegmentOut(
            id=r.id, name=r.name, definition=r.definition, created_at=r.created_at, matching=None
        )
        for r in rows
    ]
    return Page(items=items, next_cursor=next_cursor([i.id for i in items], page.limit))


@router.post("/segments", status_code=201, dependencies=WRITE)
def post_segment(body: SegmentIn, a: App = Depends(get_app)) -> SegmentOut:
    """Save a segment (409 if the name is taken); answers with its count."""
    with a.engine.begin() as conn:
        sid = create_segment(conn, body.name, body.definition, now=a.clock.now())
    return _out(a, sid, count=True)


@router.post("/segments/count", dependencies=READ)
def count_definition(body: DefinitionIn, a: App = Depends(get_app)) -> CountOut:
    """Count an unsaved definition (for live counts while a filter is edited)."""
    with a.engine.connect() as conn:
        return CountOut(matching=count_matching(conn, body.definition, now=a.clock.now()))


@router.get("/segments/{segment_id}", dependencies=READ)
def get_one(segment_id: int = SegmentId, a: App = Depends(get_app)) -> SegmentOut:
    """One segment with its live count."""
    return _out(a, segment_id, count=True)


@router.patch("/segments/{segment_id}", dependencies=WRITE)
def patch_segment(
    body: SegmentPatch, segment_id: int = SegmentId, a: App = Depends(get_app)
) -> SegmentOut:
    """Rename a segment and/or replace its definition."""
    with a.engine.begin() as conn:
        update_segment(
            conn, segment_id, name=body.name, definition=body.definition, now=a.clock.now()
        )
    return _out(a, segment_id, count=True)


@router.delete("/segments/{segment_id}", status_code=204, dependencies=WRITE)
def delete_one(segment_id: int = SegmentId, a: App = Depends(get_app)) -> None:
    """Delete a segment (409 while a campaign targets or excludes it)."""
    with a.engine.begin() as conn:
        get_segment(conn, segment_id)
        delete_segment(conn, segment_id)


@router.get(
    "/segments/{segment_id}/subscribers",
    dependencies=[*READ, Depends(require_scope("subscribers:read"))],
)
def members(
    segment_id: int = SegmentId, page: Paging = Depends(paging), a: App = Depends(get_app)
) -> Page[SubscriberOut]:
    """The active subscribers the segment matches now, by id."""
    with a.engine.connect() as conn:
        _, _, definition = get_segment(conn, segment_id)
        ids = matching_ids(conn, definition, now=a.clock.now(), after=page.after, limit=page.limit)
        people = [subscriber_by_id(conn, i) for i in ids]
    return Page(
        items=[subscriber_out(s) for s in people if s is not None],
        next_cursor=next_cursor(ids, page.limit),
    )
