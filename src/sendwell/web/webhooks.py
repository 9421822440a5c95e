"""``POST /webhooks/{ses,sendgrid,mailgun,postmark}``: provider feedback over HTTP.

Each route hands the raw body and headers to the pure functions of
:mod:`sendwell.feedback.webhooks` (signature check, normalization, idempotent apply) and
answers ``{"applied": n}``. A failed verification is ``InvalidInput`` and becomes the
one JSON error (422); nothing is applied. An unconfigured provider fails verification.

SES: the SNS signing certificate is fetched from the ``amazonaws.com`` URL that
``verify_sns`` has already checked; a ``SubscriptionConfirmation`` is confirmed by
visiting its ``SubscribeURL`` once the message itself verified.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable, Mapping
from functools import lru_cache

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from sendwell.app import App
from sendwell.errors import InvalidInput
from sendwell.feedback.webhooks import (
    WebhookEvent,
    mailgun_events,
    postmark_events,
    process_events,
    sendgrid_events,
    ses_events,
    verify_mailgun,
    verify_postmark,
    verify_sendgrid,
    verify_sns,
)
from sendwell.web.auth import get_app

router = APIRouter(prefix="/webhooks", include_in_schema=False)
_SUBSCRIBE_URL = re.compile(r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/\?Action=")
FETCH_TIMEOUT = 10.0


class Applied(BaseModel):
    applied: int


@lru_cache(maxsize=16)
def _fetch_cert(url: str) -> bytes:
    """The SNS certificate; ``verify_sns`` admits only https amazonaws.com ``.pem`` URLs."""
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
            return bytes(response.read(64 * 1024))
    except OSError as exc:
        raise InvalidInput(f"cannot fetch the SNS signing certificate: {exc}") from None


def _apply(a: App, events: list[WebhookEvent]) -> Applied:
    with a.engine.begin() as conn:
        actions = process_events(conn, events, now=a.clock.now(), policy=a.feedback_policy())
    return Applied(applied=len(actions))


def _ses(a: App, body: bytes, headers: Mapping[str, str]) -> Applied:
    s = a.settings
    topics = [t.strip() for t in s.ses_topic_arns.split(",") if t.strip()]
    msg = verify_sns(
        body, allowed_topics=topics, cert_loader=_fetch_cert, now=a.clock.now(),
        max_age=s.webhook_max_age_seconds,
    )  # fmt: skip
    if msg.get("Type") == "SubscriptionConfirmation":
        url = str(msg.get("SubscribeURL", ""))
        if not _SUBSCRIBE_URL.match(url):
            raise InvalidInput("SNS SubscribeURL is not an amazonaws.com SNS URL")
        try:
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT):  # noqa: S310
                pass
        except OSError as exc:
            raise InvalidInput(f"cannot confirm the SNS subscription: {exc}") from None
        return Applied(applied=0)
    return _apply(a, ses_events(msg, a.secret_key()))


def _sendgrid(a: App, body: bytes, headers: Mapping[str, str]) -> Applied:
    s = a.settings
    events = verify_sendgrid(
        body,
        signature=headers.get("x-twilio-email-event-webhook-signature", ""),
        timestamp=headers.get("x-twilio-email-event-webhook-timestamp", ""),
        public_key=s.sendgrid_webhook_public_key, now=a.clock.now(),
        max_age=s.webhook_max_age_seconds,
    )  # fmt: skip
    return _apply(a, sendgrid_events(events, a.secret_key()))


def _mailgun(a: App, body: bytes, headers: Mapping[str, str]) -> Applied:
    s = a.settings
    data = verify_mailgun(
        body, signing_key=s.mailgun_webhook_signing_key.reveal().encode(), now=a.clock.now(),
        max_age=s.webhook_max_age_seconds,
    )  # fmt: skip
    return _apply(a, mailgun_events(data, a.secret_key()))


def _postmark(a: App, body: bytes, headers: Mapping[str, str]) -> Applied:
    doc = verify_postmark(
        body, authorization=headers.get("authorization", ""),
        credentials=a.settings.postmark_webhook_credentials.reveal(),
    )  # fmt: skip
    return _apply(a, postmark_events(doc, a.secret_key()))


Handler = Callable[[App, bytes, Mapping[str, str]], Applied]


async def _run(request: Request, handler: Handler) -> Applied:
    # Verification, certificate fetches and database writes block: keep them off the loop.
    body = await request.body()
    return await run_in_threadpool(handler, get_app(request), body, request.headers)


@router.post("/ses")
async def ses(request: Request) -> Applied:
    """Amazon SES bounce and complaint notifications delivered by SNS."""
    return await _run(request, _ses)


@router.post("/sendgrid")
async def sendgrid(request: Request) -> Applied:
    """SendGrid's signed event webhook."""
    return await _run(request, _sendgrid)


@router.post("/mailgun")
async def mailgun(request: Request) -> Applied:
    """Mailgun webhooks (JSON with a ``signature`` block)."""
    return await _run(request, _mailgun)


@router.post("/postmark")
async def postmark(request: Request) -> Applied:
    """Postmark bounce, spam-complaint and subscription-change webhooks (basic auth)."""
    return await _run(request, _postmark)
