"""Admin pages for segments: saved filters with a live count while they are edited.

A segment is written in the JSON filter language of ``audience.segments``; the edit page
lists the language with ready-made examples (the installation's own lists and recent
campaigns filled in) and ``segment.js`` asks ``/admin/segments/count.json`` for the
number of matching subscribers as the filter changes (a read-only GET). The page shows
the first matching subscribers too. Without the script the count appears after saving.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from sendwell.app import App
from sendwell.audience.lists import all_lists
from sendwell.audience.segments import (
    all_segments,
    count_matching,
    create_segment,
    delete_segment,
    get_segment,
    matching_ids,
    update_segment,
)
from sendwell.errors import ConflictError, InvalidInput
from sendwell.web.api.common import MAX_ID
from sendwell.web.auth import check_csrf, current_session, get_app
from sendwell.web.queries import campaign_page, subscriber_by_id
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()
SegmentId = Path(ge=1, le=MAX_ID)
MAX_DEFINITION = 20_000
PREVIEW = 10


def parse_definition(text: str) -> Any:
    if len(text) > MAX_DEFINITION:
        raise InvalidInput(f"the filter is longer than {MAX_DEFINITION} characters")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"the filter is not valid JSON: {exc}") from None


def examples(a: App) -> list[tuple[str, str]]:
    """(what it selects, filter) pairs using this installation's lists and campaigns."""
    with a.engine.connect() as conn:
        lists = all_lists(conn)
        campaigns = campaign_page(conn, limit=1, newest_first=True)
    list_id = lists[0][0].id if lists else 1
    list_name = lists[0][0].name if lists else "list 1"
    out = [
        (f"Confirmed subscribers of {list_name}", {"list": list_id}),
        ("Attribute plan is pro", {"attr": "plan", "op": "=", "value": "pro"}),
        ("Addresses at gmail.com", {"field": "domain", "op": "=", "value": "gmail.com"}),
        ("Opened something in the last 30 days", {"opened_within_days": 30}),
        ("Never opened anything", {"never_opened": True}),
        ("Joined in the last 7 days", {"subscribed": {"within_days": 7}}),
        ("Both: on the list and engaged", {"all": [{"list": list_id},
                                                  {"opened_within_days": 90}]}),
        ("Either: pro or enterprise plan", {"any": [
            {"attr": "plan", "value": "pro"}, {"attr": "plan", "value": "enterprise"}]}),
        ("Not on the list", {"not": {"list": list_id}}),
    ]  # fmt: skip
    if campaigns:
        out.append((f"Did not receive “{campaigns[0].name}”",
                    {"not_received_campaign": campaigns[0].id}))  # fmt: skip
    return [(label, json.dumps(d)) for label, d in out]


@router.get("/segments")
def segments_page(
    request: Request, session: Session = Depends(current_session), a: App = Depends(get_app)
) -> Response:
    now = a.clock.now()
    rows = []
    with a.engine.connect() as conn:
        for sid, name, definition in all_segments(conn):
            try:
                n: int | str = count_matching(conn, definition, now=now)
            except InvalidInput as exc:  # saved before a rule changed: say so, keep going
                n = f"invalid: {exc}"
            rows.append((sid, name, json.dumps(definition), n))
    return render(request, "segments.html", session, rows=rows)


def _editor(
    request: Request, session: Session, a: App, *, segment_id: int | None, name: str,
    definition: str, error: str = "", status: int = 200,
) -> Response:  # fmt: skip
    matching: int | None = None
    people = []
    if not error:
        try:
            parsed = parse_definition(definition)
            with a.engine.connect() as conn:
                matching = count_matching(conn, parsed, now=a.clock.now())
                ids = matching_ids(conn, parsed, now=a.clock.now(), limit=PREVIEW)
                people = [p for p in (subscriber_by_id(conn, i) for i in ids) if p is not None]
        except InvalidInput as exc:
            error = str(exc)
    return render(
        request, "segment.html", session, status, segment_id=segment_id, segment_name=name,
        definition=definition, error=error, matching=matching, people=people,
        examples=examples(a),
    )  # fmt: skip


@router.get("/segments/new")
def new_segment(
    request: Request, session: Session = Depends(current_session), a: App = Depends(get_app)
) -> Response:
    with a.engine.connect() as conn:
        lists = all_lists(conn)
    start = {"list": lists[0][0].id} if lists else {"never_opened": True}
    return _editor(request, session, a, segment_id=None, name="",
                   definition=json.dumps(start, indent=2))  # fmt: skip


@router.get("/segments/count.json")
def count_json(
    definition: str = Query("", max_length=MAX_DEFINITION),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    """The live count for the editor: ``{"matching": n}`` or ``{"error": "..."}`` (422)."""
    try:
        parsed = parse_definition(definition)
        with a.engine.connect() as conn:
            n = count_matching(conn, parsed, now=a.clock.now())
    except InvalidInput as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    return JSONResponse({"matching": n})


@router.post("/segments")
def create(
    request: Request,
    name: str = Form("", max_length=200),
    definition: str = Form("", max_length=MAX_DEFINITION),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    try:
        with a.engine.begin() as conn:
            sid = create_segment(conn, name, parse_definition(definition), now=a.clock.now())
    except (InvalidInput, ConflictError) as exc:
        return _editor(request, session, a, segment_id=None, name=name, definition=definition,
                       error=str(exc), status=422)  # fmt: skip
    return RedirectResponse(f"/admin/segments/{sid}", status_code=303)


@router.get("/segments/{segment_id}")
def edit(
    request: Request,
    segment_id: int = SegmentId,
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.connect() as conn:
        sid, name, definition = get_segment(conn, segment_id)
    return _editor(request, session, a, segment_id=sid, name=name,
                   definition=json.dumps(definition, indent=2))  # fmt: skip


@router.post("/segments/{segment_id}")
def save(
    request: Request,
    segment_id: int = SegmentId,
    name: str = Form("", max_length=200),
    definition: str = Form("", max_length=MAX_DEFINITION),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    try:
        with a.engine.begin() as conn:
            update_segment(conn, segment_id, name=name, definition=parse_definition(definition),
                           now=a.clock.now())  # fmt: skip
    except (InvalidInput, ConflictError) as exc:
        return _editor(request, session, a, segment_id=segment_id, name=name,
                       definition=definition, error=str(exc), status=422)  # fmt: skip
    return RedirectResponse(f"/admin/segments/{segment_id}", status_code=303)


@router.post("/segments/{segment_id}/delete")
def delete(
    segment_id: int = SegmentId,
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.begin() as conn:
        get_segment(conn, segment_id)
        delete_segment(conn, segment_id)
    return RedirectResponse("/admin/segments", status_code=303)
