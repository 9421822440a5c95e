"""Understand one feedback message: bounce, complaint, auto-reply, unsubscribe or unknown.

:func:`parse_feedback` is the single entry point for every mail-borne source (inbound
SMTP, IMAP, ``sendwell feedback parse``). It never raises: malformed MIME, truncated
reports and hostile input give ``kind="unknown"`` (or a partial report) plus notes.

Which delivery a message is about is decided only by *signed* identifiers, in this order:
the VERP envelope recipient (or, without an envelope, the ``To`` header, which MTAs set
to the bounced envelope sender), the mailto-unsubscribe address, the ``X-Sendwell-Ref``
header of the quoted original message, and a VERP ``Return-Path`` inside the quoted
original. A bounce without any of them keeps ``outbox_id=None`` and — by the policy in
:mod:`sendwell.feedback.apply` — suppresses nobody, so forged bounces are harmless.
"""

from __future__ import annotations

import re
from email.message import Message

from sendwell.compose.reference import REFERENCE_HEADER, parse_reference, parse_unsubscribe_address
from sendwell.compose.verp import parse_verp
from sendwell.feedback import formats
from sendwell.feedback.arf import ArfReport, is_arf, parse_arf, parse_jmrp
from sendwell.feedback.classify import classify, find_smtp_code, find_status
from sendwell.feedback.dsn import delivery_status_parts, original_headers, parse_dsn
from sendwell.feedback.mime import DEFAULT_MAX_BYTES, body_text, header, parse_bytes, raw_text
from sendwell.feedback.records import FeedbackReport, IdSource, RecipientResult, ReportKind

_REF_ANYWHERE = re.compile(REFERENCE_HEADER + r":\s*<?(\d{1,20}\.[0-9a-fA-F]{16})", re.I)
_VERP_ANYWHERE = re.compile(r"\bb-\d{1,20}-[0-9a-zA-Z]{10}@[A-Za-z0-9.-]+")
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response|"
    r"antwort)|auto:|abwesenheit|r[ée]ponse automatique|respuesta autom|vacation|"
    r"i am (?:currently )?(?:out|away)|away from)",
    re.IGNORECASE,
)


def _addresses(value: str) -> list[str]:
    return re.findall(r"[^\s<>,;:\"']+@[^\s<>,;:\"']+", value)


def identify(
    msg: Message, raw: bytes, key: bytes, envelope_rcpt: str | None, max_bytes: int
) -> tuple[int | None, IdSource]:
    """The signed outbox id a message is about, and where it was found."""
    candidates = [envelope_rcpt] if envelope_rcpt else []
    if not envelope_rcpt:
        for name in ("To", "Delivered-To", "X-Original-To", "X-Envelope-To"):
            candidates.extend(_addresses(header(msg, name)))
    for address in candidates:
        if address:
            outbox_id = parse_verp(address, key)
            if outbox_id is not None:
                return outbox_id, "verp"
    for original in original_headers(msg):
        token = header(original, REFERENCE_HEADER)
        if token:
            outbox_id = parse_reference(token, key)
            if outbox_id is not None:
                return outbox_id, "reference"
    # Quoted originals in text bounces, or parts the parser could not open.
    text = raw_text(raw, max_bytes)
    for match in _REF_ANYWHERE.finditer(text):
        outbox_id = parse_reference(match.group(1), key)
        if outbox_id is not None:
            return outbox_id, "reference"
    for match in _VERP_ANYWHERE.finditer(text):
        outbox_id = parse_verp(match.group(0), key)
        if outbox_id is not None:
            return outbox_id, "verp"
    return None, "none"


def _unsubscribe_id(msg: Message, key: bytes, envelope_rcpt: str | None) -> int | None:
    candidates = [envelope_rcpt] if envelope_rcpt else _addresses(header(msg, "To"))
    for address in candidates:
        if address:
            outbox_id = parse_unsubscribe_address(address, key)
            if outbox_id is not None:
                return outbox_id
    return None


def is_autoreply(msg: Message) -> bool:
    auto = header(msg, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return True
    if any(header(msg, h) for h in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")):
        return True
    if header(msg, "Precedence").lower() == "auto_reply":
        return True
    if header(msg, "X-Auto-Response-Suppress") and _AUTO_SUBJECT.search(header(msg, "Subject")):
        return True
    return bool(_AUTO_SUBJECT.search(header(msg, "Subject")))


def _complaint(msg: Message) -> tuple[ArfReport | None, str]:
    """The complaint a message carries (ARF, or Hotmail's older JMRP format), and which."""
    if is_arf(msg):
        return parse_arf(msg), "arf"
    if not delivery_status_parts(msg):
        return parse_jmrp(msg), "jmrp"
    return None, ""


def _text_diagnostics(msg: Message) -> dict[str, str]:
    """The server replies a DSN's human-readable part quotes, by recipient address.

    Some MTAs (Exim's DSN mode, Exchange 2003) leave ``Diagnostic-Code`` out and put the
    remote server's words only in the text part; without them a ``5.0.0`` says nothing.
    Only texts that carry an SMTP or enhanced status code count as a reply.
    """
    found = formats.recognize(body_text(msg), header(msg, "X-Failed-Recipients"))
    if found is None:
        return {}
    return {
        f.address.lower(): f.diagnostic
        for f in found.failures
        if find_status(f.diagnostic) or find_smtp_code(f.diagnostic) is not None
    }


def _result(address: str, action: str, status: str, diagnostic: str) -> RecipientResult:
    verdict = classify(status, diagnostic, action)
    return RecipientResult(
        address=address,
        action=action,
        status=status or find_status(diagnostic),
        classification=verdict.classification,
        reason=verdict.reason,
        diagnostic=diagnostic,
    )


def _parse(raw: bytes, key: bytes, envelope_rcpt: str | None, max_bytes: int) -> FeedbackReport:
    msg = parse_bytes(raw, max_bytes)
    notes: tuple[str, ...] = ()
    if len(raw) > max_bytes:
        notes = (f"message cut to its first {max_bytes} bytes for parsing",)

    unsub = _unsubscribe_id(msg, key, envelope_rcpt)
    if unsub is not None:
        sender = _addresses(header(msg, "From"))
        rcpt = RecipientResult(sender[0] if sender else "", "", "", "unknown", "unsubscribe", "")
        return FeedbackReport(
            "unsubscribe", (rcpt,), unsub, "unsubscribe", format="mailto", notes=notes
        )

    outbox_id, source = identify(msg, raw, key, envelope_rcpt, max_bytes)

    arf, fmt = _complaint(msg)
    if arf is not None:
        kind: ReportKind = "unknown" if arf.feedback_type == "not-spam" else "complaint"
        rcpts = tuple(
            RecipientResult(a, "", "", "unknown", arf.feedback_type, "")
            for a in arf.original_rcpt_to
        )
        if outbox_id is None and arf.original_mail_from:
            found = parse_verp(arf.original_mail_from, key)
            if found is not None:
                outbox_id, source = found, "verp"
        return FeedbackReport(kind, rcpts, outbox_id, source, arf.feedback_type, fmt, notes)

    if delivery_status_parts(msg):
        dsn = parse_dsn(msg)
        if dsn:
            said = _text_diagnostics(msg) if any(not r.diagnostic for r in dsn) else {}
            results = tuple(
                _result(
                    r.final_recipient,
                    r.action,
                    r.status,
                    r.diagnostic or said.get(r.final_recipient.lower(), ""),
                )
                for r in dsn
            )
            return FeedbackReport("bounce", results, outbox_id, source, format="dsn", notes=notes)

    subject, from_ = header(msg, "Subject"), header(msg, "From")
    failed = header(msg, "X-Failed-Recipients")
    bouncy = formats.looks_like_bounce(subject, from_) or bool(failed)
    if not bouncy and is_autoreply(msg):
        return FeedbackReport("autoreply", (), outbox_id, source, format="autoreply", notes=notes)

    text = body_text(msg)
    found_text = formats.recognize(text, failed)
    if found_text is None and bouncy:
        found_text = formats.generic(text)
    if found_text is not None:
        results = tuple(
            _result(f.address, "delayed" if f.temporary else "failed", "", f.diagnostic)
            for f in found_text.failures
        )
        return FeedbackReport(
            "bounce", results, outbox_id, source, format=found_text.format, notes=notes
        )
    if bouncy:
        return FeedbackReport("bounce", (), outbox_id, source, format="unparsed", notes=notes)
    if is_autoreply(msg):
        return FeedbackReport("autoreply", (), outbox_id, source, format="autoreply", notes=notes)
    return FeedbackReport("unknown", (), outbox_id, source, notes=notes)


def parse_feedback(
    raw: bytes,
    key: bytes,
    *,
    envelope_rcpt: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> FeedbackReport:
    """Everything sendwell understands of one message. Never raises."""
    try:
        return _parse(raw, key, envelope_rcpt, max_bytes)
    except Exception as exc:  # hostile input must not take the server down
        return FeedbackReport("unknown", notes=(f"unparseable: {type(exc).__name__}",))
