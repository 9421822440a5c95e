"""Admin pages for the audience: dashboard, lists (with create), subscribers (search, detail).

The dashboard also shows the sender's reputation: hard-bounce and complaint rates of the
last ten started campaigns against the 0.1 % target and 0.3 % ceiling (``reports``).

The subscriber page shows every subscription and the consent log (``audience.consent``);
suppression rows are keyed by address hash, so the page says whether the address is
suppressed without listing other people's entries.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from sendwell.app import App
from sendwell.audience.addresses import stored_address
from sendwell.audience.consent import history
from sendwell.audience.lists import all_lists, create_list
from sendwell.campaigns.service import campaign_status
from sendwell.errors import NotFound
from sendwell.reports.reputation import CEILING, TARGET, reputation, total
from sendwell.store.schema import subscribers
from sendwell.verify.service import latest_verification
from sendwell.web.api.common import MAX_ID
from sendwell.web.auth import check_csrf, current_session, get_app
from sendwell.web.queries import (
    campaign_page,
    subscriber_by_id,
    subscriber_page,
    subscriptions_of,
    suppression_page,
)
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()
PAGE_SIZE = 50


@router.get("/")
def dashboard(
    request: Request, session: Session = Depends(current_session), a: App = Depends(get_app)
) -> Response:
    with a.engine.connect() as conn:
        recent = [
            (c, campaign_status(conn, c.id))
            for c in campaign_page(conn, limit=10, newest_first=True)
        ]
        lists = all_lists(conn)
        people = conn.execute(select(func.count()).select_from(subscribers)).scalar_one()
        rep = reputation(conn, limit=10)
    return render(
        request, "dashboard.html", session, recent=recent, lists=lists, people=people,
        reputation=rep, overall=total(rep), target=TARGET, ceiling=CEILING,
    )  # fmt: skip


@router.get("/lists")
def lists_page(
    request: Request, session: Session = Depends(current_session), a: App = Depends(get_app)
) -> Response:
    with a.engine.connect() as conn:
        rows = all_lists(conn)
    return render(request, "lists.html", session, lists=rows, error="")


@router.post("/lists")
def lists_create(
    request: Request,
    name: str = Form(..., max_length=200),
    description: str = Form("", max_length=10_000),
    optin: str = Form("single"),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.begin() as conn:
        create_list(
            conn, name, now=a.clock.now(), description=description,
            optin="double" if optin == "double" else "single",
        )  # fmt: skip
    return RedirectResponse("/admin/lists", status_code=303)


@router.get("/subscribers")
def subscribers_page(
    request: Request,
    q: str = Query("", max_length=320),
    list_id: int | None = Query(None, ge=1, le=MAX_ID),
    after: int = Query(0, ge=0, le=MAX_ID),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.connect() as conn:
        rows = subscriber_page(
            conn, limit=PAGE_SIZE, after=after, search=q.strip(), list_id=list_id
        )
        lists = all_lists(conn)
    more = rows[-1].id if len(rows) == PAGE_SIZE else None
    return render(
        request, "subscribers.html", session, rows=rows, q=q, list_id=list_id, lists=lists,
        more=more,
    )  # fmt: skip


@router.get("/subscribers/{subscriber_id}")
def subscriber_page_detail(
    request: Request,
    subscriber_id: int = Path(ge=1, le=MAX_ID),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.connect() as conn:
        s = subscriber_by_id(conn, subscriber_id)
        if s is None:
            raise NotFound(f"no subscriber with id {subscriber_id}")
        subs = subscriptions_of(conn, s.id)
        person = stored_address(s.email)
        email_hash = person.hash
        consent = history(conn, person)
        suppressed = suppression_page(conn, limit=20, email_hash=email_hash)
        checked = latest_verification(conn, email_hash)
    return render(
        request, "subscriber.html", session, s=s, subscriptions=subs, consent=consent,
        suppressions=suppressed, verification=checked,
    )  # fmt: skip
