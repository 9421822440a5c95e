"""Preflight: everything that must hold before a campaign starts, with the fix for each.

``run_preflight`` renders the campaign for one real recipient (the first eligible one, or
a placeholder when the audience is empty) through the same builder the workers use, so it
judges the exact bytes that would be sent, and collects:

* compliance blockers from ``campaigns.compliance`` (identity, postal address,
  unsubscribe link, one-click header, authenticated From domain, deceptive subject);
* content warnings: size against Gmail's 102 KB clipping, images without alt text,
  image-only mail, and a spam score (spamd when it answers, heuristics otherwise);
* audience counts: eligible, unconfirmed (double opt-in not confirmed — not mailed),
  suppressed, frequency-capped; an empty audience is a blocker;
* optionally DNS findings from ``domains.check`` (done by the caller, which owns the
  event loop), failed ones as blockers.

Limits: the delivery-plan estimate (duration per site from shaping and warm-up) and the
link check are not done yet.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select

from sendwell.campaigns.builder import CampaignMessageBuilder, Person
from sendwell.campaigns.compliance import (
    Issue,
    check_authentication,
    check_message,
    check_subject,
    frequency_capped,
)
from sendwell.campaigns.sender import SenderDefaults, campaign_sender
from sendwell.campaigns.service import get_campaign
from sendwell.compose.links import recipient_links
from sendwell.content.lint import GMAIL_CLIP_BYTES, lint_content
from sendwell.content.spam import heuristic_score
from sendwell.delivery.jobs import BuildFailure, OutboxJob
from sendwell.domains.check import Finding
from sendwell.domains.store import find_domain
from sendwell.store.schema import subscribers, subscriptions, suppressions

SPAM_WARN_SCORE = 3.0
PREVIEW_OUTBOX_ID = 0  # links in the preview carry row 0, which never exists


@dataclass(frozen=True)
class AudienceCounts:
    eligible: int
    unconfirmed: int
    suppressed: int
    frequency_capped: int


@dataclass(frozen=True)
class PreflightReport:
    campaign_id: int
    issues: list[Issue]
    audience: AudienceCounts
    message_bytes: int = 0
    html_bytes: int = 0
    spam_score: float | None = None
    spam_source: str = ""
    dns: list[Finding] = field(default_factory=list)

    @property
    def blockers(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "blocker"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]

    def as_json(self) -> dict[str, Any]:
        """The ``campaigns check --json`` form."""
        return {
            "campaign": self.campaign_id,
            "ok": not self.blockers,
            "blockers": [asdict(i) for i in self.blockers],
            "warnings": [asdict(i) for i in self.warnings],
            "audience": asdict(self.audience),
            "content": {
                "message_bytes": self.message_bytes,
                "html_bytes": self.html_bytes,
                "spam_score": self.spam_score,
                "spam_source": self.spam_source,
            },
            "dns": [asdict(f) for f in self.dns],
        }


def audience_counts(
    conn: Connection, list_ids: Sequence[int], campaign_id: int, *, now: datetime,
    cap_count: int, cap_days: int,
) -> AudienceCounts:  # fmt: skip
    in_lists = subscriptions.c.list_id.in_(list_ids)
    in_force = or_(suppressions.c.expires_at.is_(None), suppressions.c.expires_at > now)
    suppressed = exists().where(
        and_(
            suppressions.c.email_hash == subscribers.c.email_hash,
            or_(suppressions.c.list_id.is_(None), suppressions.c.list_id.in_(list_ids)),
            in_force,
        )
    )
    base = (
        select(func.count(func.distinct(subscribers.c.id)))
        .select_from(subscribers.join(subscriptions))
        .where(in_lists, subscribers.c.status == "active")
    )
    confirmed = subscriptions.c.status == "confirmed"
    capped = frequency_capped(
        campaign_id, tuple(list_ids), now=now, count=cap_count, days=cap_days
    ).subquery()
    return AudienceCounts(
        eligible=conn.execute(base.where(confirmed, ~suppressed)).scalar_one(),
        unconfirmed=conn.execute(base.where(subscriptions.c.status == "unconfirmed")).scalar_one(),
        suppressed=conn.execute(base.where(confirmed, suppressed)).scalar_one(),
        frequency_capped=conn.execute(select(func.count()).select_from(capped)).scalar_one(),
    )


def _sample(conn: Connection, list_ids: Sequence[int]) -> Person:
    row = conn.execute(
        select(subscribers)
        .join(subscriptions)
        .where(subscriptions.c.list_id.in_(list_ids), subscriptions.c.status == "confirmed")
        .order_by(subscribers.c.id)
        .limit(1)
    ).first()
    if row is None:
        return Person("preview@example.com", None, None, {})
    return Person(row.email, row.first_name, row.last_name, row.attributes or {})


def run_preflight(
    conn: Connection,
    builder: CampaignMessageBuilder,
    campaign_id: int,
    *,
    now: datetime,
    secret_key: bytes,
    public_url: str,
    defaults: SenderDefaults,
    spam_scorer: Callable[[bytes], float | None] | None = None,
    dns: Sequence[Finding] = (),
) -> PreflightReport:
    """The report for one campaign; ``builder`` must use the same key and public URL."""
    campaign = get_campaign(conn, campaign_id)
    sender = campaign_sender(conn, campaign_id, defaults)
    domain = campaign.from_email.rpartition("@")[2]
    audience = audience_counts(
        conn, campaign.list_ids, campaign_id, now=now,
        cap_count=sender.frequency_cap_count, cap_days=sender.frequency_cap_days,
    )  # fmt: skip
    issues: list[Issue] = []
    if audience.eligible == 0:
        issues.append(
            Issue("blocker", "empty-audience", "no eligible recipient (confirmed, not "
                  "suppressed)", "add confirmed subscribers to the campaign's lists")
        )  # fmt: skip
    if audience.unconfirmed:
        issues.append(
            Issue("warning", "unconfirmed", f"{audience.unconfirmed} unconfirmed subscribers "
                  "will not be mailed", "they are mailed once they confirm (double opt-in)")
        )  # fmt: skip
    if audience.frequency_capped:
        issues.append(
            Issue("warning", "frequency-capped", f"{audience.frequency_capped} subscribers "
                  f"already had {sender.frequency_cap_count} campaigns in "
                  f"{sender.frequency_cap_days} days and will be skipped",
                  "raise the campaign's frequency cap, or send later")
        )  # fmt: skip
    issues.extend(check_authentication(domain, find_domain(conn, domain) is not None))
    for finding in dns:
        if not finding.ok:
            issues.append(
                Issue("blocker", f"dns-{finding.check.split()[0].lower()}",
                      f"{finding.check}: {finding.detail}", finding.fix)
            )  # fmt: skip
    person = _sample(conn, campaign.list_ids)
    job = OutboxJob(PREVIEW_OUTBOX_ID, campaign.id, None, person.email,
                    person.email.rpartition("@")[2], 0, None)  # fmt: skip
    built = builder.build_one(job, person)
    if isinstance(built, BuildFailure):
        issues.append(Issue("blocker", "template-error", built.reason, "fix the template"))
        return PreflightReport(campaign_id, issues, audience, dns=list(dns))
    msg = email.message_from_bytes(built.data, policy=email.policy.default)
    subject = str(msg["Subject"])
    html_part, text_part = msg.get_body(("html",)), msg.get_body(("plain",))
    html = html_part.get_content() if html_part is not None else ""
    text = text_part.get_content() if text_part is not None else ""
    issues.extend(check_subject(subject))
    issues.extend(
        check_message(
            built.data,
            unsubscribe_url=recipient_links(public_url, PREVIEW_OUTBOX_ID, secret_key).unsubscribe,
            organization=sender.organization,
            from_name=campaign.from_name,
            postal_address=sender.postal_address,
        )
    )
    lint = lint_content(html, text)
    if lint.clipped_by_gmail:
        issues.append(
            Issue("warning", "gmail-clipping", f"HTML is {lint.html_bytes // 1024} KB; Gmail "
                  f"clips past {GMAIL_CLIP_BYTES // 1024} KB, hiding the footer",
                  "shorten the content or move parts to the web")
        )  # fmt: skip
    if lint.images_without_alt:
        issues.append(
            Issue("warning", "missing-alt-text", f"{lint.images_without_alt} of {lint.images} "
                  "images have no alt text", 'add alt="..." to every <img>')
        )  # fmt: skip
    if lint.image_only:
        issues.append(
            Issue("warning", "image-only", "the message is images with almost no text",
                  "add real text; image-only mail reads as spam")
        )  # fmt: skip
    score = spam_scorer(built.data) if spam_scorer is not None else None
    source = "spamd"
    if score is None:
        score, source = heuristic_score(subject, html, text), "heuristic"
    if score >= SPAM_WARN_SCORE:
        issues.append(
            Issue("warning", "spam-score", f"spam score {score} ({source})",
                  "remove shouting, money words and link-heavy blocks")
        )  # fmt: skip
    return PreflightReport(
        campaign_id, issues, audience, len(built.data), lint.html_bytes, score, source, list(dns)
    )
