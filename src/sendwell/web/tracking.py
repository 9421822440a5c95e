"""Public tracking endpoints: open pixel, click redirect, unsubscribe, preferences, view.

``router`` serves, for any signed token (``sendwell.tracking.tokens``):

====================  =================================================================
GET /o/{token}.gif    1x1 GIF; records an open (HEAD answers without recording)
GET|HEAD /c/{token}   302 to the campaign's allow-listed URL; records a click (a HEAD is
                      recorded as machine activity)
GET /u/{token}        unsubscribe page — never unsubscribes by itself (scanners prefetch)
POST /u/{token}       RFC 8058 one-click (body ``List-Unsubscribe=One-Click``): withdraws
                      from the campaign's lists, answers 200, no redirect, no cookie. The
                      page's buttons post here too (``scope=campaign|all``)
GET|POST /p/{token}   preference center: stay on or leave each list, or leave everything
GET /v/{token}        the message as sent to this recipient, in the browser
====================  =================================================================

A malformed, forged or altered token answers 404 and records nothing. Opens and clicks
are answered only after the event is committed (``tracking.buffer``); if the database
refuses, 503 — the one HTTP mapping this router does itself, because the pixel and the
redirect must answer in their own format.

Dependencies come from ``request.app.state.sendwell`` (the :class:`~sendwell.app.App`);
the router keeps its per-process state (event buffer, keyring, link cache) on
``request.app.state.sendwell_tracking``, created on first use.

Limits: the preference center only withdraws; joining a list again goes through the
subscribe form, which records consent evidence. Form bodies above 64 KiB are refused.
"""

from __future__ import annotations

import asyncio
import email
import html
from dataclasses import dataclass
from email.message import Message
from typing import Annotated, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from sendwell.app import App
from sendwell.campaigns.builder import CampaignMessageBuilder, Person
from sendwell.delivery.jobs import BuildFailure, OutboxJob
from sendwell.errors import StorageError
from sendwell.store.schema import outbox, subscribers
from sendwell.tracking.allowlist import link_url
from sendwell.tracking.buffer import EventBuffer, TrackedHit
from sendwell.tracking.classify import Hit, Rules, parse_networks
from sendwell.tracking.tokens import Keyring, verify, verify_click
from sendwell.tracking.unsubscribe import Recipient, Scope, Source, recipient, withdraw
from sendwell.tracking.unsubscribe import Request as WithdrawRequest

router = APIRouter(include_in_schema=False)

GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c000000000100010000020144003b"
)
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, private", "Pragma": "no-cache"}
MAX_FORM = 64 * 1024


@dataclass
class Tracking:
    """Per-process state of the tracking endpoints."""

    app: App
    ring: Keyring
    buffer: EventBuffer
    links: dict[tuple[int, int], str | None]

    @classmethod
    def build(cls, app: App) -> Tracking:
        s = app.settings
        previous = [k.strip().encode() for k in s.tracking_previous_keys.reveal().split(",")]
        rules = Rules(
            scanner_window_s=s.tracking_scanner_window_seconds,
            scanner_networks=parse_networks(s.tracking_scanner_networks.split(",")),
        )
        return cls(
            app=app,
            ring=Keyring.of(app.secret_key(), previous),
            buffer=EventBuffer(app.engine, rules, max_batch=s.tracking_batch_size),
            links={},
        )


async def tracking_state(request: Request) -> Tracking:
    # async: FastAPI runs a plain ``def`` dependency on a thread pool, a hop per request.
    return _state(request)


def _state(request: Request) -> Tracking:
    state = request.app.state
    current = getattr(state, "sendwell_tracking", None)
    if current is None:
        current = Tracking.build(state.sendwell)
        state.sendwell_tracking = current
    return current


TrackingDep = Annotated[Tracking, Depends(tracking_state)]


def _hit(request: Request, t: Tracking, kind: Literal["open", "click"]) -> Hit:
    return Hit(
        kind=kind,
        at=t.app.clock.now(),
        method=request.method,
        user_agent=request.headers.get("user-agent", "")[:500],
        ip=request.client.host if request.client else "",
    )


def _not_found() -> Response:
    return HTMLResponse(
        _page("Link not valid", "<p>This link is not valid. It may have been mistyped.</p>"),
        status_code=404,
        headers=NO_STORE,
    )


def _unavailable() -> Response:
    return PlainTextResponse(
        "temporarily unavailable", status_code=503, headers={"Retry-After": "5", **NO_STORE}
    )


# The open pixel and the click redirect are the hot paths (every opened message, every
# click): plain Starlette routes, without FastAPI's per-request dependency solving and
# parameter validation, which took about half of the server's CPU under load. GET and
# HEAD only; anything else answers 405.


async def open_pixel(request: Request) -> Response:
    t = _state(request)
    outbox_id = verify("o", request.path_params["token"], t.ring)
    if request.method == "HEAD":  # answered, never recorded: prefetchers probe with HEAD
        if outbox_id is None:
            return Response(status_code=404)
        return Response(media_type="image/gif", headers=NO_STORE)
    if outbox_id is None:
        return _not_found()
    try:
        await t.buffer.record(TrackedHit(_hit(request, t, "open"), outbox_id))
    except StorageError:
        return _unavailable()
    return Response(GIF, media_type="image/gif", headers=NO_STORE)


async def click(request: Request) -> Response:
    t = _state(request)
    ref = verify_click(request.path_params["token"], t.ring)
    if ref is None:
        return _not_found()
    key = (ref.campaign_id, ref.link)
    if key not in t.links:
        t.links[key] = await asyncio.to_thread(_lookup_link, t, ref.campaign_id, ref.link)
    url = t.links[key]
    if url is None:
        return _not_found()
    hit = TrackedHit(_hit(request, t, "click"), ref.outbox_id, ref.campaign_id, ref.link)
    try:
        await t.buffer.record(hit)
    except StorageError:
        return _unavailable()
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


# Also served ahead of the whole application by ``web.front.TrackingFront``.
FAST_ROUTES = (
    Route("/o/{token}.gif", open_pixel, methods=["GET", "HEAD"], include_in_schema=False),
    Route("/c/{token}", click, methods=["GET", "HEAD"], include_in_schema=False),
)
router.routes.extend(FAST_ROUTES)


def _lookup_link(t: Tracking, campaign_id: int, number: int) -> str | None:
    with t.app.engine.connect() as conn:
        return link_url(conn, campaign_id, number)


# -- unsubscribe and preferences --------------------------------------------------------


def _recipient(t: Tracking, kind: Literal["u", "p", "v"], token: str) -> Recipient | None:
    outbox_id = verify(kind, token, t.ring)
    if outbox_id is None:
        return None
    with t.app.engine.connect() as conn:
        return recipient(conn, outbox_id)


async def _form(request: Request) -> dict[str, list[str]] | None:
    """The urlencoded body, or None when it is too large."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return None
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def _withdraw(
    t: Tracking, who: Recipient, scope: Scope, request: Request, source: Source, ids: list[int]
) -> int:
    req = WithdrawRequest(
        source=source,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
    with t.app.engine.begin() as conn:
        return withdraw(conn, who, scope, now=t.app.clock.now(), request=req, list_ids=ids)


@router.get("/u/{token}")
async def unsubscribe_page(token: str, t: TrackingDep) -> Response:
    who = await asyncio.to_thread(_recipient, t, "u", token)
    if who is None:
        return _not_found()
    names = [c.name for c in who.lists if c.in_campaign and c.subscribed]
    lists_text = ", ".join(html.escape(n) for n in names) or "this mailing"
    body = (
        f"<p>Unsubscribe <strong>{html.escape(who.email)}</strong>?</p>"
        f'<form method="post"><input type="hidden" name="scope" value="campaign">'
        f'<button type="submit">Unsubscribe from {lists_text}</button></form>'
        f'<form method="post"><input type="hidden" name="scope" value="all">'
        f'<button type="submit">Unsubscribe from everything</button></form>'
        f'<p><a href="../p/{html.escape(token)}">Choose lists instead</a></p>'
    )
    return HTMLResponse(_page("Unsubscribe", body), headers=NO_STORE)


@router.post("/u/{token}")
async def unsubscribe_post(token: str, request: Request, t: TrackingDep) -> Response:
    who = await asyncio.to_thread(_recipient, t, "u", token)
    if who is None:
        return _not_found()
    form = await _form(request)
    if form is None:
        return PlainTextResponse("request body too large", status_code=413)
    if form.get("List-Unsubscribe", [""])[0] == "One-Click":
        await asyncio.to_thread(_withdraw, t, who, "campaign", request, "one_click", [])
        # RFC 8058: a plain 200, no redirect, no cookie.
        return PlainTextResponse("unsubscribed", headers=NO_STORE)
    scope: Scope = "all" if form.get("scope", [""])[0] == "all" else "campaign"
    await asyncio.to_thread(_withdraw, t, who, scope, request, "page", [])
    what = "any of our mailings" if scope == "all" else "these mailings"
    body = f"<p>{html.escape(who.email)} will not receive {what} any more.</p>"
    return HTMLResponse(_page("Unsubscribed", body), headers=NO_STORE)


@router.get("/p/{token}")
async def preferences_page(token: str, t: TrackingDep) -> Response:
    who = await asyncio.to_thread(_recipient, t, "p", token)
    if who is None:
        return _not_found()
    return HTMLResponse(_preferences(who, ""), headers=NO_STORE)


@router.post("/p/{token}")
async def preferences_post(token: str, request: Request, t: TrackingDep) -> Response:
    who = await asyncio.to_thread(_recipient, t, "p", token)
    if who is None:
        return _not_found()
    form = await _form(request)
    if form is None:
        return PlainTextResponse("request body too large", status_code=413)
    if form.get("all", [""])[0]:
        await asyncio.to_thread(_withdraw, t, who, "all", request, "preferences", [])
    else:
        keep = set(form.get("list", []))
        leave = [c.id for c in who.lists if c.subscribed and str(c.id) not in keep]
        if leave:
            await asyncio.to_thread(_withdraw, t, who, "lists", request, "preferences", leave)
    who = await asyncio.to_thread(_recipient, t, "p", token) or who
    return HTMLResponse(_preferences(who, "<p>Your choices are saved.</p>"), headers=NO_STORE)


def _preferences(who: Recipient, note: str) -> str:
    rows = []
    for c in who.lists:
        checked = " checked" if c.subscribed else ""
        rows.append(
            f'<li><label><input type="checkbox" name="list" value="{c.id}"{checked}> '
            f"{html.escape(c.name)}</label> <small>{html.escape(c.description)}</small></li>"
        )
    body = (
        f"{note}<p>Mailings for <strong>{html.escape(who.email)}</strong>:</p>"
        f'<form method="post"><ul>{"".join(rows)}</ul>'
        f'<button type="submit">Save</button></form>'
        f'<form method="post"><input type="hidden" name="all" value="1">'
        f'<button type="submit">Unsubscribe from everything</button></form>'
    )
    return _page("Email preferences", body)


# -- view in browser --------------------------------------------------------------------


@router.get("/v/{token}")
async def view(token: str, t: TrackingDep) -> Response:
    outbox_id = verify("v", token, t.ring)
    if outbox_id is None:
        return _not_found()
    page = await asyncio.to_thread(_render, t, outbox_id)
    if page is None:
        return _not_found()
    return HTMLResponse(page, headers={"Cache-Control": "private, no-store"})


def _render(t: Tracking, outbox_id: int) -> str | None:
    """The HTML part of the message as this recipient received it (rebuilt now)."""
    with t.app.engine.connect() as conn:
        row = conn.execute(
            outbox.select()
            .with_only_columns(
                outbox.c.id,
                outbox.c.campaign_id,
                outbox.c.subscriber_id,
                outbox.c.email,
                outbox.c.domain,
                outbox.c.attempts,
                outbox.c.first_attempt_at,
                subscribers.c.first_name,
                subscribers.c.last_name,
                subscribers.c.attributes,
            )
            .join_from(outbox, subscribers, outbox.c.subscriber_id == subscribers.c.id)
            .where(outbox.c.id == outbox_id)
        ).first()
    if row is None:
        return None
    builder = CampaignMessageBuilder(
        t.app.engine,
        clock=t.app.clock,
        secret_key=t.ring.current,
        bounce_domain=t.app.settings.bounce_domain,
        public_url=t.app.settings.public_url,
        sender_defaults=t.app.sender_defaults(),
    )
    job = OutboxJob(
        row.id,
        row.campaign_id,
        row.subscriber_id,
        row.email,
        row.domain,
        row.attempts,
        row.first_attempt_at,
    )
    built = builder.build_one(
        job, Person(row.email, row.first_name, row.last_name, row.attributes or {})
    )
    if isinstance(built, BuildFailure):
        return None
    message = email.message_from_bytes(built.data)
    for part in message.walk():
        if isinstance(part, Message) and part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return None


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{html.escape(title)}</title>'
        "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;"
        "padding:0 1rem}button{margin:.4rem 0;padding:.5rem 1rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
