"""Compliance rules a campaign must pass before it starts (CAN-SPAM, CASL, GDPR, RFC 8058).

Each rule is a pure function of what it judges — the subject, one rendered message, the
authentication state — returning :class:`Issue` records; ``blocker`` issues stop the
campaign, ``warning`` issues are shown with their fix. The audience rule is a query
(:func:`frequency_capped`), since only the database knows who was mailed when.

Rules:

* sender identity (an organization or From name) and a physical postal address appear
  in the message body (CAN-SPAM §7704(a)(5), CASL s.6(2));
* a visible unsubscribe link: the recipient's ``unsubscribe_url`` is an ``href`` in the
  HTML and appears in the text part;
* one-click ``List-Unsubscribe`` (HTTPS) with ``List-Unsubscribe-Post`` (RFC 8058);
* the From domain is a sending domain with a DKIM key (so d= aligns with From for DMARC);
* no deceptive subject: ``Re:``/``Fwd:`` and their translations pretend a conversation.

Limits: "appears in the body" is a text search, not a judgement of visibility (white text
on white passes); consent is enforced by the outbox query (confirmed subscriptions only)
and reported by preflight's audience counts rather than re-checked here.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import unescape
from typing import Literal

from sqlalchemy import Select, and_, distinct, func, or_, select

from sendwell.store.schema import campaigns, outbox, subscriptions

Level = Literal["blocker", "warning"]


@dataclass(frozen=True)
class Issue:
    """One finding: how bad, a stable code, what is wrong, and how to fix it."""

    level: Level
    code: str
    message: str
    fix: str


_DECEPTIVE = re.compile(
    r"^\s*(re|fw|fwd|aw|wg|sv|vs|tr|rv|antw|odp|ynt)\s*(\[\d+\])?\s*:", re.IGNORECASE
)


def check_subject(subject: str) -> list[Issue]:
    issues = []
    if _DECEPTIVE.match(subject):
        issues.append(
            Issue(
                "blocker",
                "deceptive-subject",
                f"subject {subject!r} pretends to be a reply or forward",
                "remove the Re:/Fwd: prefix; a campaign is not a conversation",
            )
        )
    letters = [c for c in subject if c.isalpha()]
    if len(letters) >= 10 and sum(c.isupper() for c in letters) > 0.7 * len(letters):
        issues.append(
            Issue("warning", "shouting-subject", "subject is mostly capitals", "use sentence case")
        )
    if subject.count("!") >= 3:
        issues.append(
            Issue("warning", "exclaiming-subject", "subject has 3 or more '!'", "use at most one")
        )
    return issues


def _visible_text(html: str) -> str:
    text = re.sub(r"(?is)<(style|script|head)\b.*?</\1>", " ", html)
    return " ".join(unescape(re.sub(r"(?s)<[^>]+>", " ", text)).split())


def _contains(haystack: str, needle: str) -> bool:
    return " ".join(needle.split()).lower() in " ".join(haystack.split()).lower()


def check_message(
    data: bytes,
    *,
    unsubscribe_url: str,
    organization: str,
    from_name: str,
    postal_address: str,
) -> list[Issue]:
    """Judge one rendered message (the exact bytes that would be sent)."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    html_part = msg.get_body(("html",))
    text_part = msg.get_body(("plain",))
    html = html_part.get_content() if html_part is not None else ""
    text = text_part.get_content() if text_part is not None else ""
    visible = _visible_text(html)
    issues = []
    identity = organization.strip() or from_name.strip()
    if not identity or not (_contains(visible, identity) or _contains(text, identity)):
        issues.append(
            Issue(
                "blocker",
                "no-sender-identity",
                "the message does not name the sender",
                "set sender_organization (or the campaign's) and show "
                "{{ sender.organization }} in the footer",
            )
        )
    if not postal_address.strip():
        issues.append(
            Issue(
                "blocker",
                "no-postal-address",
                "no physical postal address is configured",
                "set sender_postal_address or the campaign's postal address",
            )
        )
    elif not _contains(visible, postal_address.splitlines()[0]):
        issues.append(
            Issue(
                "blocker",
                "no-postal-address",
                "the postal address does not appear in the message",
                "add {{ sender.postal_address }} to the template's footer",
            )
        )
    hrefs = re.findall(r"""href\s*=\s*["']([^"']+)["']""", html, re.IGNORECASE)
    if unsubscribe_url not in (unescape(h) for h in hrefs):
        issues.append(
            Issue(
                "blocker",
                "no-unsubscribe-link",
                "the HTML has no visible unsubscribe link",
                'add <a href="{{ unsubscribe_url }}">Unsubscribe</a> to the template',
            )
        )
    elif unsubscribe_url not in text:
        issues.append(
            Issue(
                "blocker",
                "no-unsubscribe-link",
                "the text part has no unsubscribe link",
                "put {{ unsubscribe_url }} in the text template (or drop it to generate one)",
            )
        )
    list_unsubscribe = str(msg.get("List-Unsubscribe", ""))
    if "<https://" not in list_unsubscribe or msg.get("List-Unsubscribe-Post") != (
        "List-Unsubscribe=One-Click"
    ):
        issues.append(
            Issue(
                "blocker",
                "no-one-click-unsubscribe",
                "List-Unsubscribe lacks an HTTPS one-click URL with List-Unsubscribe-Post",
                "set public_url to an https:// address that reaches sendwell",
            )
        )
    return issues


def check_authentication(from_domain: str, has_key: bool) -> list[Issue]:
    if has_key:
        return []
    return [
        Issue(
            "blocker",
            "from-domain-not-authenticated",
            f"{from_domain} has no DKIM key, so messages would not be signed or DMARC-aligned",
            f"run `sendwell domains add {from_domain}` and publish the records it prints",
        )
    ]


def frequency_capped(
    campaign_id: int, list_ids: tuple[int, ...], *, now: datetime, count: int, days: int
) -> Select[tuple[int]]:
    """Subscribers of the campaign's lists who already have ``count`` campaigns in the window.

    A campaign counts when its row to the subscriber was delivered within the last
    ``days``, or is still queued/deferred (it is on its way). ``count <= 0`` disables the
    cap (the query selects nobody). Use it as a subquery::

        capped = frequency_capped(c.id, c.list_ids, now=now, count=2, days=30)
        ... .where(subscribers.c.id.not_in(capped))
    """
    since = now - timedelta(days=days)
    recent = or_(
        and_(outbox.c.status == "delivered", outbox.c.done_at >= since),
        outbox.c.status.in_(("queued", "deferred")),
    )
    audience = select(subscriptions.c.subscriber_id).where(subscriptions.c.list_id.in_(list_ids))
    # Confirmation and welcome messages are transactional: they never count toward the cap.
    campaign_traffic = select(campaigns.c.id).where(campaigns.c.kind == "campaign")
    query = (
        select(outbox.c.subscriber_id)
        .where(
            outbox.c.campaign_id != campaign_id,
            outbox.c.campaign_id.in_(campaign_traffic),
            outbox.c.subscriber_id.in_(audience),
            recent,
        )
        .group_by(outbox.c.subscriber_id)
        .having(func.count(distinct(outbox.c.campaign_id)) >= count)
    )
    if count <= 0:
        query = query.where(outbox.c.id.is_(None))
    return query
