"""Provider webhooks: authenticate, normalize to :class:`FeedbackReport`, apply once.

Pure functions the web layer calls with the request's body and headers (HTTP exposure is
pending: there is no web server yet). Per provider:

* **Amazon SES via SNS** — :func:`verify_sns` checks the SNS message signature
  (``SignatureVersion`` 1 = RSA-SHA1, 2 = RSA-SHA256) against the signing certificate,
  whose URL must be ``https://sns.<region>.amazonaws.com/...pem``; fetching it is the
  caller's (``cert_loader``). The topic must be an allowed one. :func:`ses_events` reads
  the SES bounce/complaint notification inside.
* **SendGrid** — signed event webhook: ECDSA P-256/SHA-256 over ``timestamp + body``
  with the account's verification key (:func:`verify_sendgrid`).
* **Mailgun** — HMAC-SHA256 of ``timestamp + token`` under the signing key
  (:func:`verify_mailgun`).
* **Postmark** — HTTP basic auth with configured credentials (:func:`verify_postmark`).

Signed payloads older than ``max_age`` seconds are refused (replays); every event's
provider id is recorded in ``feedback_receipts`` by :func:`process_events`, so a replayed
or retried event is applied at most once. Verification failures raise
:class:`~sendwell.errors.InvalidInput` and nothing is applied.

Which delivery an event is about comes from the ``sendwell_ref`` custom argument /
metadata / ``X-Sendwell-Ref`` header (a signed reference token), else from the address,
which an authenticated provider may be trusted with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from sendwell.compose.reference import REFERENCE_HEADER, parse_reference
from sendwell.errors import InvalidInput
from sendwell.feedback.apply import Action, apply_report
from sendwell.feedback.classify import Verdict, classify, find_status
from sendwell.feedback.policy import FeedbackPolicy
from sendwell.feedback.records import FeedbackReport, IdSource, RecipientResult, ReportKind
from sendwell.store.schema_feedback import feedback_receipts

_SNS_CERT_URL = re.compile(r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[^?#]+\.pem$")


@dataclass(frozen=True)
class WebhookEvent:
    provider: str  # ses | sendgrid | mailgun | postmark
    event_id: str
    report: FeedbackReport


def _fresh(at: float, now: datetime, max_age: float) -> None:
    age = now.timestamp() - at
    if age > max_age or age < -300:
        raise InvalidInput(f"webhook timestamp is {int(age)} s old; refused as a replay")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("webhook body is not JSON") from None


# -- authentication ------------------------------------------------------------------------


def sns_string_to_sign(msg: Mapping[str, Any]) -> bytes:
    if msg.get("Type") == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{k}\n{msg[k]}\n" for k in keys if k in msg).encode()


def verify_sns(
    body: bytes,
    *,
    allowed_topics: Sequence[str],
    cert_loader: Callable[[str], bytes],
    now: datetime,
    max_age: float,
) -> dict[str, Any]:
    """The verified SNS message (a dict), or InvalidInput."""
    msg = _json(body)
    if not isinstance(msg, dict):
        raise InvalidInput("SNS body is not an object")
    if msg.get("TopicArn") not in set(allowed_topics):
        raise InvalidInput("SNS topic is not an allowed one")
    url = str(msg.get("SigningCertURL", ""))
    if not _SNS_CERT_URL.match(url):
        raise InvalidInput("SNS signing certificate URL is not an amazonaws.com SNS URL")
    algorithm: hashes.HashAlgorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(  # noqa: S303
        str(msg.get("SignatureVersion")), hashes.SHA256()
    )
    if str(msg.get("SignatureVersion")) not in {"1", "2"}:
        raise InvalidInput("unknown SNS SignatureVersion")
    try:
        signature = base64.b64decode(str(msg.get("Signature", "")), validate=True)
        cert = x509.load_pem_x509_certificate(cert_loader(url))
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise InvalidInput("SNS certificate key is not RSA")
        key.verify(signature, sns_string_to_sign(msg), padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError, binascii.Error, KeyError):
        raise InvalidInput("SNS signature does not verify") from None
    try:
        sent = datetime.fromisoformat(str(msg["Timestamp"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise InvalidInput("SNS message has no valid Timestamp") from None
    _fresh(sent.timestamp(), now, max_age)
    return msg


def verify_sendgrid(
    body: bytes, *, signature: str, timestamp: str, public_key: str, now: datetime, max_age: float
) -> list[Any]:
    """The verified SendGrid event list, or InvalidInput."""
    try:
        key = serialization.load_der_public_key(base64.b64decode(public_key))
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidInput("SendGrid verification key is not an ECDSA key")
        key.verify(
            base64.b64decode(signature), timestamp.encode() + body, ec.ECDSA(hashes.SHA256())
        )
        _fresh(float(timestamp), now, max_age)
    except (InvalidSignature, ValueError, binascii.Error):
        raise InvalidInput("SendGrid signature does not verify") from None
    events = _json(body)
    if not isinstance(events, list):
        raise InvalidInput("SendGrid body is not a list of events")
    return events


def verify_mailgun(
    body: bytes, *, signing_key: bytes, now: datetime, max_age: float
) -> dict[str, Any]:
    """The verified Mailgun ``event-data``, or InvalidInput."""
    doc = _json(body)
    sig = doc.get("signature") if isinstance(doc, dict) else None
    if not isinstance(sig, dict):
        raise InvalidInput("Mailgun body has no signature")
    timestamp, token = str(sig.get("timestamp", "")), str(sig.get("token", ""))
    expected = hmac.new(signing_key, (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not signing_key or not hmac.compare_digest(expected, str(sig.get("signature", ""))):
        raise InvalidInput("Mailgun signature does not verify")
    try:
        _fresh(float(timestamp), now, max_age)
    except ValueError:
        raise InvalidInput("Mailgun timestamp is not a number") from None
    data = doc.get("event-data")
    if not isinstance(data, dict):
        raise InvalidInput("Mailgun body has no event-data")
    return data


def verify_postmark(body: bytes, *, authorization: str, credentials: str) -> dict[str, Any]:
    """The Postmark payload if the request's basic auth matches ``user:password``."""
    scheme, _, value = authorization.partition(" ")
    try:
        given = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        given = ""
    ok = scheme.lower() == "basic" and bool(credentials)
    if not (hmac.compare_digest(given.encode(), credentials.encode()) and ok):
        raise InvalidInput("Postmark basic auth does not match")
    doc = _json(body)
    if not isinstance(doc, dict):
        raise InvalidInput("Postmark body is not an object")
    return doc


# -- normalization ------------------------------------------------------------------------


def _ref(token: object, key: bytes) -> int | None:
    return parse_reference(str(token), key) if token else None


def _report(
    kind: ReportKind,
    address: str,
    verdict: Verdict,
    status: str,
    diagnostic: str,
    outbox_id: int | None,
    fmt: str,
    feedback_type: str = "",
) -> FeedbackReport:
    result = RecipientResult(
        address=address.strip().lower(),
        action="failed" if kind == "bounce" else "",
        status=status,
        classification=verdict.classification,
        reason=verdict.reason,
        diagnostic=" ".join(diagnostic.split())[:1000],
    )
    source: IdSource = "webhook" if outbox_id is not None else "none"
    return FeedbackReport(kind, (result,), outbox_id, source, feedback_type, fmt)


def _complaint(address: str, outbox_id: int | None, fmt: str) -> FeedbackReport:
    return _report("complaint", address, Verdict("unknown", "abuse"), "", "", outbox_id, fmt,
                   "abuse")  # fmt: skip


def _unsubscribe(address: str, outbox_id: int | None, fmt: str) -> FeedbackReport:
    return _report("unsubscribe", address, Verdict("unknown", "unsubscribe"), "", "",
                   outbox_id, fmt)  # fmt: skip


def ses_events(sns: Mapping[str, Any], key: bytes) -> list[WebhookEvent]:
    """SES bounce/complaint notifications inside a verified SNS Notification."""
    if sns.get("Type") != "Notification":
        return []  # SubscriptionConfirmation: the web layer visits SubscribeURL
    note = _json(str(sns.get("Message", "")).encode())
    if not isinstance(note, dict):
        return []
    kind = str(note.get("notificationType") or note.get("eventType") or "")
    mail = note.get("mail") or {}
    headers = {str(h.get("name", "")).lower(): h.get("value") for h in mail.get("headers", [])}
    outbox_id = _ref(headers.get(REFERENCE_HEADER.lower()), key)
    out: list[WebhookEvent] = []
    if kind == "Bounce":
        bounce = note.get("bounce") or {}
        permanent = bounce.get("bounceType") == "Permanent"
        sub = str(bounce.get("bounceSubType", ""))
        for i, r in enumerate(bounce.get("bouncedRecipients", [])):
            diag = str(r.get("diagnosticCode", ""))
            status = str(r.get("status", "")) or find_status(diag)
            verdict = classify(status, diag, "failed")
            if permanent and sub in {"NoEmail", "Suppressed", "OnAccountSuppressionList"}:
                verdict = Verdict("hard", "mailbox_unknown" if sub == "NoEmail" else "suppressed")
            elif permanent and not diag and not status:
                # No DSN came back, so SES's own verdict is all there is; SES documents a
                # permanent bounce as "remove this address" (an authenticated source).
                verdict = Verdict("hard", "permanent_bounce")
            elif not permanent and verdict.classification == "hard":
                verdict = Verdict("soft", verdict.reason)  # SES says it is transient
            report = _report(
                "bounce",
                str(r.get("emailAddress", "")),
                verdict,
                status,
                diag,
                outbox_id,
                "webhook:ses",
            )
            out.append(
                WebhookEvent("ses", f"{bounce.get('feedbackId', sns.get('MessageId'))}:{i}", report)
            )
    elif kind == "Complaint":
        complaint = note.get("complaint") or {}
        ftype = str(complaint.get("complaintFeedbackType", "abuse"))
        for i, r in enumerate(complaint.get("complainedRecipients", [])):
            report = _report(
                "complaint",
                str(r.get("emailAddress", "")),
                Verdict("unknown", ftype),
                "",
                "",
                outbox_id,
                "webhook:ses",
                ftype,
            )
            out.append(
                WebhookEvent(
                    "ses", f"{complaint.get('feedbackId', sns.get('MessageId'))}:{i}", report
                )
            )
    return out


def sendgrid_events(events: Sequence[Any], key: bytes) -> list[WebhookEvent]:
    out: list[WebhookEvent] = []
    for e in events:
        if not isinstance(e, dict) or not e.get("sg_event_id"):
            continue
        kind, email = str(e.get("event", "")), str(e.get("email", ""))
        outbox_id = _ref(e.get("sendwell_ref"), key)
        if kind == "bounce":
            diag, status = str(e.get("reason", "")), str(e.get("status", ""))
            verdict = classify(status, diag, "failed")
            if e.get("type") == "blocked" and verdict.classification != "hard":
                verdict = Verdict(
                    "block", verdict.reason if verdict.classification == "block" else "policy"
                )
            report = _report("bounce", email, verdict, status, diag, outbox_id, "webhook:sendgrid")
        elif kind == "spamreport":
            report = _complaint(email, outbox_id, "webhook:sendgrid")
        elif kind in {"unsubscribe", "group_unsubscribe"}:
            report = _unsubscribe(email, outbox_id, "webhook:sendgrid")
        else:
            continue  # delivered, deferred, dropped, open, click: not feedback
        out.append(WebhookEvent("sendgrid", str(e["sg_event_id"]), report))
    return out


def mailgun_events(data: Mapping[str, Any], key: bytes) -> list[WebhookEvent]:
    kind, email = str(data.get("event", "")), str(data.get("recipient", ""))
    outbox_id = _ref((data.get("user-variables") or {}).get("sendwell_ref"), key)
    if kind == "failed":
        ds = data.get("delivery-status") or {}
        diag = " ".join(str(ds.get(k, "")) for k in ("code", "message", "description")).strip()
        status = str(ds.get("enhanced-code", "")) or find_status(diag)
        verdict = classify(status, diag, "failed")
        if data.get("severity") == "temporary":
            return []  # Mailgun is still retrying
        report = _report("bounce", email, verdict, status, diag, outbox_id, "webhook:mailgun")
    elif kind == "complained":
        report = _complaint(email, outbox_id, "webhook:mailgun")
    elif kind == "unsubscribed":
        report = _unsubscribe(email, outbox_id, "webhook:mailgun")
    else:
        return []
    return [WebhookEvent("mailgun", str(data.get("id", "")), report)]


_POSTMARK_BOUNCES = {
    "HardBounce": Verdict("hard", "mailbox_unknown"),
    "BadEmailAddress": Verdict("hard", "bad_syntax"),
    "SoftBounce": Verdict("soft", "temporary"),
    "Transient": Verdict("soft", "temporary"),
    "DnsError": Verdict("soft", "temporary"),
    "SpamNotification": Verdict("block", "spam_content"),
    "Blocked": Verdict("block", "policy"),
    "ContentRelated": Verdict("block", "spam_content"),
    "AutoResponder": Verdict("unknown", "autoreply"),
}


def postmark_events(doc: Mapping[str, Any], key: bytes) -> list[WebhookEvent]:
    record, email = (
        str(doc.get("RecordType", "")),
        str(doc.get("Email", "") or doc.get("Recipient", "")),
    )
    outbox_id = _ref((doc.get("Metadata") or {}).get("sendwell_ref"), key)
    event_id = f"{record}:{doc.get('ID', doc.get('MessageID', ''))}"
    if record == "Bounce":
        diag = str(doc.get("Details", "") or doc.get("Description", ""))
        verdict = _POSTMARK_BOUNCES.get(str(doc.get("Type", "")), classify("", diag, "failed"))
        if verdict.reason == "autoreply":
            return []
        report = _report(
            "bounce", email, verdict, find_status(diag), diag, outbox_id, "webhook:postmark"
        )
    elif record == "SpamComplaint":
        report = _complaint(email, outbox_id, "webhook:postmark")
    elif record == "SubscriptionChange" and doc.get("SuppressSending"):
        report = _unsubscribe(email, outbox_id, "webhook:postmark")
    else:
        return []
    return [WebhookEvent("postmark", event_id, report)]


# -- idempotent processing ----------------------------------------------------------------


def process_events(
    conn: Connection, events: Sequence[WebhookEvent], *, now: datetime, policy: FeedbackPolicy
) -> list[Action]:
    """Apply events not seen before; record their ids so a replay changes nothing."""
    actions: list[Action] = []
    for event in events:
        if not event.event_id:
            continue
        seen = conn.execute(
            select(feedback_receipts.c.id).where(
                (feedback_receipts.c.source == event.provider)
                & (feedback_receipts.c.event_id == event.event_id[:200])
            )
        ).first()
        if seen is not None:
            continue
        try:
            with conn.begin_nested():
                conn.execute(
                    feedback_receipts.insert().values(
                        source=event.provider, event_id=event.event_id[:200], received_at=now
                    )
                )
        except IntegrityError:
            continue  # a concurrent request is applying the same event
        actions += apply_report(conn, event.report, now=now, policy=policy, trust_addresses=True)
    return actions
