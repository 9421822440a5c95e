"""ARF feedback reports (RFC 5965): a recipient marked a message as spam.

A report is a ``multipart/report; report-type=feedback-report`` whose second part is
``message/feedback-report`` (fields ``Feedback-Type``, ``Original-Mail-From``,
``Original-Rcpt-To``, ...) and whose third part is the reported message or its headers.
Providers often redact ``Original-Rcpt-To`` and the ``To`` header; the reported message's
``X-Sendwell-Ref`` header (see :mod:`sendwell.compose.reference`) still names the delivery.

Outlook.com/Hotmail's Junk Mail Reporting Program also still sends its older, pre-ARF
format: a ``multipart/mixed`` message whose only part is the reported message, with the
complaining user in that message's ``X-HmXmrOriginalRecipient`` header
(:func:`parse_jmrp`). Neither format proves anything by itself: the delivery is named only
by the signed tokens in the quoted message, as for every report.

Limits: one report per message (RFC 5965 §2); ``Version`` is not enforced, since
providers still send ``0.1``. Redacted recipients (``redacted@...``) are kept as given.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from sendwell.feedback.dsn import _blocks_from_text
from sendwell.feedback.mime import text_of, walk


@dataclass(frozen=True)
class ArfReport:
    feedback_type: str  # abuse | fraud | virus | other | not-spam | auth-failure
    original_mail_from: str
    original_rcpt_to: tuple[str, ...]
    user_agent: str
    reported_domain: str


def _fields(part: Message) -> dict[str, list[str]]:
    payload = part.get_payload()
    fields: dict[str, list[str]] = {}
    if isinstance(payload, list):  # some parsers split it into header blocks
        for block in payload:
            if isinstance(block, Message):
                for name, value in block.items():
                    fields.setdefault(name.lower(), []).append(" ".join(str(value).split()))
        return fields
    text = payload if isinstance(payload, str) else text_of(part)
    # Repeated fields (Original-Rcpt-To) must all be kept, so parse line by line.
    for block in _blocks_from_text(text):
        for name, value in block.items():
            fields.setdefault(name, []).append(value)
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "original-rcpt-to":
            fields.setdefault("original-rcpt-to", [])
            if value.strip() not in fields["original-rcpt-to"]:
                fields["original-rcpt-to"].append(value.strip())
    return fields


def is_arf(msg: Message) -> bool:
    report_type = str(msg.get_param("report-type") or "").lower()
    if msg.get_content_type() == "multipart/report" and report_type == "feedback-report":
        return True
    return any(p.get_content_type() == "message/feedback-report" for p in walk(msg))


def parse_arf(msg: Message) -> ArfReport | None:
    """The report's fields, or None if the message carries no feedback-report part."""
    for part in walk(msg):
        if part.get_content_type() != "message/feedback-report":
            continue
        fields = _fields(part)

        def first(name: str, fields: dict[str, list[str]] = fields) -> str:
            values = fields.get(name, [])
            return values[0].strip() if values else ""

        # "undisclosed comcast recipient <redacted@comcast.net>": keep the address only.
        rcpts = tuple(
            address
            for _, address in getaddresses(fields.get("original-rcpt-to", []))
            if "@" in address
        )
        return ArfReport(
            feedback_type=first("feedback-type").lower() or "abuse",
            original_mail_from=first("original-mail-from").strip("<>"),
            original_rcpt_to=rcpts,
            user_agent=first("user-agent"),
            reported_domain=first("reported-domain"),
        )
    return None


JMRP_RECIPIENT = "X-HmXmrOriginalRecipient"


def parse_jmrp(msg: Message) -> ArfReport | None:
    """A complaint in Hotmail's pre-ARF JMRP format, or None if ``msg`` is not one."""
    for part in walk(msg):
        if part.get_content_type() != "message/rfc822":
            continue
        payload = part.get_payload()
        reported = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(reported, Message):
            continue
        rcpt = reported.get(JMRP_RECIPIENT)
        if rcpt is None:
            continue
        addresses = tuple(a for _, a in getaddresses([str(rcpt)]) if "@" in a)
        return ArfReport(
            feedback_type="abuse",
            original_mail_from="",
            original_rcpt_to=addresses,
            user_agent="Hotmail JMRP",
            reported_domain="",
        )
    return None
