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
* one-click ``List-Unsubscribe`` (HTTPS) with ``List-Unsubscribe-Post`` (RFC 8058); an
  ``http://`` URL is a blocker unless the installation allows it for local testing
  (``allow_http_one_click``), when it is a warning;
* the From domain is a sending domain with a DKIM key, and the rendered message carries a
  DKIM signature whose ``d=`` aligns with the From domain (DMARC) and covers ``From``,
  ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058 §4);
* no deceptive subject: ``Re:``/``Fwd:`` and their translations pretend a conversation —
  also behind leading ``[tags]``, with full-width colons or look-alike letters.

Limits: "appears in the body" is a text search, not a judgement of visibility (white text
on white passes); look-alike letters are a short list of Cyrillic and Greek ones, not all
of Unicode's confusables; alignment uses the last two labels as the organizational domain
(no public-suffix list). Consent is checked by ``campaigns.permission``.
"""

from __future__ import annotations

import email
import email.policy
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
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


# Reply and forward prefixes in the languages mail clients write them in (English, German,
# Nordic, Dutch, French, Spanish/Portuguese, Italian, Polish, Turkish, Chinese, Finnish).
_DECEPTIVE = re.compile(
    r"^(?:\s*\[[^\]]*\]|\s*\([^)]*\)|[\s\W_])*"  # leading [tags], (tags), emoji, marks
    r"(re|fw|fwd|aw|wg|sv|vs|vb|tr|rv|res|enc|antw|doorst|odp|pd|ynt|ilt|vl|vs|回复|回覆|答复|转发|轉寄)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*:",
    re.IGNORECASE,
)
# Cyrillic and Greek letters that look like Latin ones ("Re:" written with a Cyrillic e),
# mapped to the Latin letters they imitate.
_LOOKALIKES = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0455\u0456\u0458\u0501\u051d"
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0391"
    "\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a7\u03a5",
    "aeopcyxsijdwABEKMHOPCTXABEZHIKMNOPTXY",
)


def _skeleton(subject: str) -> str:
    """The subject as a reader sees it: full-width and compatibility forms folded (NFKC),
    look-alike letters mapped to Latin."""
    return unicodedata.normalize("NFKC", subject).translate(_LOOKALIKES)


def check_subject(subject: str) -> list[Issue]:
    issues = []
    if _DECEPTIVE.match(_skeleton(subject)):
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
    allow_http_one_click: bool = False,
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
    one_click = msg.get("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    if one_click and "<https://" not in list_unsubscribe and "<http://" in list_unsubscribe:
        issues.append(
            Issue(
                "warning" if allow_http_one_click else "blocker",
                "one-click-not-https",
                "the one-click unsubscribe URL is http://; Gmail and Yahoo honour only https "
                "(RFC 8058)",
                "set public_url to an https:// address that reaches sendwell"
                + ("" if allow_http_one_click else " (allow_http_one_click is for local tests)"),
            )
        )
    elif "<https://" not in list_unsubscribe or not one_click:
        issues.append(
            Issue(
                "blocker",
                "no-one-click-unsubscribe",
                "List-Unsubscribe lacks an HTTPS one-click URL with List-Unsubscribe-Post",
                "set public_url to an https:// address that reaches sendwell",
            )
        )
    return issues


def _org(domain: str) -> str:
    return ".".join(domain.lower().rstrip(".").split(".")[-2:])


def _tags(value: str) -> dict[str, str]:
    tags = {}
    for part in value.split(";"):
        key, sep, val = part.partition("=")
        if sep:
            tags[key.strip().lower()] = "".join(val.split())
    return tags


def check_signature(data: bytes) -> list[Issue]:
    """The message is DKIM-signed by a domain aligned with From, over the one-click headers.

    Judges the rendered bytes, so it catches what configuration alone cannot: a key that
    did not decrypt, a signer for another domain, headers left out of ``h=``.
    """
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    from_domain = (parseaddr(str(msg.get("From", "")))[1].rpartition("@")[2]).lower()
    signatures = [_tags(str(v)) for v in msg.get_all("DKIM-Signature", [])]
    if not signatures:
        return [
            Issue(
                "blocker",
                "not-dkim-signed",
                "the message carries no DKIM signature",
                f"run `sendwell domains add {from_domain}` (and check the secret key has not "
                "changed since the key was stored)",
            )
        ]
    aligned = [s for s in signatures if _org(s.get("d", "")) == _org(from_domain)]
    if not aligned:
        domains = ", ".join(sorted({s.get("d", "?") for s in signatures}))
        return [
            Issue(
                "blocker",
                "dkim-not-aligned",
                f"DKIM d={domains} does not align with the From domain {from_domain} (DMARC)",
                f"sign with a key of {from_domain}: `sendwell domains add {from_domain}`",
            )
        ]
    needed = {"from", "list-unsubscribe", "list-unsubscribe-post"}
    if not any(needed <= {h.strip().lower() for h in s.get("h", "").split(":")} for s in aligned):
        return [
            Issue(
                "blocker",
                "dkim-misses-one-click",
                "the DKIM signature does not cover From, List-Unsubscribe and "
                "List-Unsubscribe-Post, which RFC 8058 requires for one-click",
                "sign those headers (sendwell's signer does; check custom headers)",
            )
        ]
    return []


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
