"""Preflight: everything that must hold before a campaign starts, with the fix for each.

``run_preflight`` judges the campaign exactly as it would go out. It computes the
audience with the same query that materializes the outbox, renders the message for a
sample of real recipients through the workers' builder (so it judges the exact bytes,
DKIM signature included) and collects :class:`Issue` records:

blockers — the campaign does not start while any remains (``App.start_campaign``):

* compliance of the rendered message (``campaigns.compliance``): sender identity and
  postal address in the body, a visible unsubscribe link in HTML and text, one-click
  ``List-Unsubscribe`` over HTTPS, no deceptive subject, a DKIM signature aligned with the
  From domain that covers the one-click headers; a From domain without a DKIM key;
* permission (``campaigns.permission``): every would-be recipient has consent evidence
  for a list that reaches them, not lapsed, confirmed on double opt-in lists; an empty
  audience;
* template errors for any sampled recipient;
* DNS that is definitely wrong for the From domain (no SPF/DKIM/DMARC record, a
  different key published) when a DNS checker is given;

warnings — shown with their fix, never blocking: unconfirmed and frequency-capped
people, Gmail clipping, missing alt text, image-only mail, a spam score of 3 or more
(spamd's, else the heuristics'), an open-tracking pixel that alone earns SpamAssassin's
"images with little text" points, DNS that could not be asked, SPF that cannot align
(DKIM alignment suffices for DMARC).

With a link checker (``campaigns check --links``), every literal link and image URL of
the content is asked once (``content.linkcheck``); each that does not answer, or answers
with an error, is a warning with the reason.

It also carries the delivery-plan estimate (``delivery.estimate``) when a planner is
given. The collaborators that do I/O beyond the database — spamd, DNS, MX lookups — are
injected as callables, so this module stays a judge and the composition root wires them.

Limits: the sample is the first :data:`SAMPLE_SIZE` recipients; a template error that
only one later recipient's data triggers is caught when that message is built (the row
ends ``failed`` with the reason), not here.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from sendwell.campaigns.builder import CampaignMessageBuilder, Person
from sendwell.campaigns.compliance import (
    Issue,
    Level,
    check_authentication,
    check_message,
    check_signature,
    check_subject,
    frequency_capped,
)
from sendwell.campaigns.permission import permission_gaps
from sendwell.campaigns.records import Campaign
from sendwell.campaigns.sender import CampaignSender, SenderDefaults, campaign_sender
from sendwell.campaigns.service import get_campaign, recipient_statuses
from sendwell.compose.links import recipient_links
from sendwell.content.linkcheck import LinkResult, campaign_urls
from sendwell.content.lint import GMAIL_CLIP_BYTES, lint_content
from sendwell.content.spam import SpamVerdict, heuristic_verdict
from sendwell.delivery.estimate import DeliveryPlan
from sendwell.delivery.jobs import BuildFailure, OutboxJob
from sendwell.domains.check import DnsCheckError, Finding
from sendwell.domains.store import find_domain
from sendwell.errors import ConfigError, ServiceUnavailable
from sendwell.store.schema import campaigns, subscribers, subscriptions
from sendwell.verify.verdict import Policy

SPAM_WARN_SCORE = 3.0
SAMPLE_SIZE = 20
PREVIEW_OUTBOX_ID = 0  # links in the preview carry row 0, which never exists

SpamChecker = Callable[[bytes], SpamVerdict]  # raises ServiceUnavailable
DnsChecker = Callable[[str], Sequence[Finding]]  # raises DnsCheckError when inconclusive
Planner = Callable[[str, Mapping[str, int]], DeliveryPlan]  # (pool, domain -> recipients)
LinkChecker = Callable[[Sequence[str]], Sequence[LinkResult]]


@dataclass(frozen=True)
class PreflightConfig:
    """The installation's values preflight judges against (from settings, via ``App``)."""

    secret_key: bytes
    public_url: str
    defaults: SenderDefaults = field(default_factory=SenderDefaults)
    policy: Policy = field(default_factory=Policy)
    sunset_days: int = 180
    allow_http_one_click: bool = False


@dataclass(frozen=True)
class AudienceCounts:
    eligible: int  # would be queued
    unconfirmed: int
    suppressed: int
    frequency_capped: int
    excluded: int = 0  # verification policy
    skipped: int = 0  # sunset rule or frequency cap


@dataclass(frozen=True)
class PreflightReport:
    campaign_id: int
    issues: list[Issue]
    audience: AudienceCounts
    message_bytes: int = 0
    html_bytes: int = 0
    spam: SpamVerdict | None = None
    spam_note: str = ""  # why spamd was not used, when it was not
    dns: list[Finding] = field(default_factory=list)
    plan: DeliveryPlan | None = None
    campaign: Campaign | None = None  # what was checked (the start gate compares it)
    sender: CampaignSender | None = None
    links: list[LinkResult] | None = None  # None: the links were not checked

    @property
    def blockers(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "blocker"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]

    @property
    def spam_score(self) -> float | None:
        return self.spam.score if self.spam is not None else None

    @property
    def spam_source(self) -> str:
        return self.spam.source if self.spam is not None else ""

    def as_json(self) -> dict[str, Any]:
        """The ``campaigns check --json`` form (also the API's preflight body)."""
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
                "spam_threshold": self.spam.threshold if self.spam else None,
                "spam_rules": [asdict(r) for r in self.spam.top_rules()] if self.spam else [],
                "spam_note": self.spam_note,
            },
            "dns": [asdict(f) for f in self.dns],
            "delivery_plan": plan_json(self.plan) if self.plan is not None else None,
            "links": [asdict(r) for r in self.links] if self.links is not None else None,
        }


def plan_json(plan: DeliveryPlan) -> dict[str, Any]:
    def when(t: datetime | None) -> str | None:
        return t.isoformat() if t is not None else None

    return {
        "started_at": when(plan.started_at),
        "recipients": plan.recipients,
        "duration_seconds": plan.duration_seconds,
        "finishes_at": when(plan.finishes_at),
        "sites": [
            {**asdict(r), "domains": list(r.domains), "finishes_at": when(r.finishes_at)}
            for r in plan.rows
        ],
        "notes": list(plan.notes),
    }


def _statuses(
    conn: Connection, campaign: Campaign, sender: CampaignSender, now: datetime,
    config: PreflightConfig,
) -> Any:  # fmt: skip
    return recipient_statuses(
        conn, campaign, now=now, cap_count=sender.frequency_cap_count,
        cap_days=sender.frequency_cap_days, policy=config.policy,
        sunset_days=config.sunset_days,
    ).subquery()  # fmt: skip


def audience_counts(
    conn: Connection, campaign: Campaign, people: Any, *, now: datetime, sender: CampaignSender
) -> AudienceCounts:
    by_status: dict[str, int] = dict(
        conn.execute(select(people.c.status, func.count()).group_by(people.c.status)).all()
    )
    unconfirmed = conn.execute(
        select(func.count(func.distinct(subscribers.c.id)))
        .select_from(subscribers.join(subscriptions))
        .where(
            subscriptions.c.list_id.in_(campaign.list_ids),
            subscriptions.c.status == "unconfirmed",
            subscribers.c.status == "active",
        )
    ).scalar_one()
    capped = frequency_capped(
        campaign.id, campaign.list_ids, now=now, count=sender.frequency_cap_count,
        days=sender.frequency_cap_days,
    ).subquery()  # fmt: skip
    return AudienceCounts(
        eligible=int(by_status.get("queued", 0)),
        unconfirmed=int(unconfirmed),
        suppressed=int(by_status.get("suppressed", 0)),
        frequency_capped=int(conn.execute(select(func.count()).select_from(capped)).scalar_one()),
        excluded=int(by_status.get("excluded", 0)),
        skipped=int(by_status.get("skipped", 0)),
    )


def _audience_issues(
    conn: Connection, campaign: Campaign, people: Any, audience: AudienceCounts,
    sender: CampaignSender, now: datetime,
) -> list[Issue]:  # fmt: skip
    issues: list[Issue] = []
    if audience.eligible == 0:
        issues.append(
            Issue("blocker", "empty-audience", "no eligible recipient (confirmed, consented, "
                  "not suppressed)", "add confirmed subscribers to the campaign's lists")
        )  # fmt: skip
    gaps = permission_gaps(conn, _queued(people), campaign.list_ids, now)
    examples = gaps.examples or {}

    def e_g(kind: str) -> str:
        return f" (e.g. {', '.join(examples[kind])})" if examples.get(kind) else ""

    if gaps.unconfirmed:
        issues.append(
            Issue("blocker", "audience-unconfirmed", f"{gaps.unconfirmed} recipients are "
                  f"confirmed on a double opt-in list without a recorded confirmation"
                  f"{e_g('unconfirmed')}", "send them the confirmation (they are mailed once "
                  "they confirm) or remove them from the list")
        )  # fmt: skip
    if gaps.lapsed:
        issues.append(
            Issue("blocker", "audience-consent-lapsed", f"{gaps.lapsed} recipients' implied "
                  f"consent has lapsed{e_g('lapsed')}", "ask them to subscribe again, or "
                  "record new consent (`sendwell subscribers import --basis ...`)")
        )  # fmt: skip
    if gaps.no_consent:
        issues.append(
            Issue("blocker", "audience-no-consent", f"{gaps.no_consent} recipients have no "
                  f"consent record for the campaign's lists{e_g('no_consent')}",
                  "record how they consented (`sendwell subscribers import FILE --basis "
                  "consent`, or `subscribers add`), or remove them")
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
    return issues


def _dns_issues(findings: Sequence[Finding]) -> list[Issue]:
    issues = []
    for finding in findings:
        if finding.ok:
            continue
        # DMARC passes on DKIM alignment alone (sendwell signs with the From domain), so
        # an SPF that cannot align is worth fixing, not worth stopping a campaign for.
        level: Level = "warning" if finding.check == "DMARC alignment (SPF)" else "blocker"
        code = "dns-" + "-".join(finding.check.lower().replace("(", "").replace(")", "").split())
        issues.append(Issue(level, code, f"{finding.check}: {finding.detail}", finding.fix))
    return issues


def _queued(people: Any) -> Select[tuple[int]]:
    return select(people.c.subscriber_id).where(people.c.status == "queued")


def _sample(conn: Connection, people: Any) -> list[Person]:
    rows = conn.execute(
        select(subscribers)
        .where(subscribers.c.id.in_(_queued(people)))
        .order_by(subscribers.c.id)
        .limit(SAMPLE_SIZE)
    ).all()  # fmt: skip
    if not rows:
        return [Person("preview@example.com", None, None, {})]
    return [Person(r.email, r.first_name, r.last_name, r.attributes or {}) for r in rows]


def _content_issues(
    data: bytes, config: PreflightConfig, campaign: Campaign, sender: CampaignSender
) -> tuple[list[Issue], int]:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    html_part, text_part = msg.get_body(("html",)), msg.get_body(("plain",))
    html = html_part.get_content() if html_part is not None else ""
    text = text_part.get_content() if text_part is not None else ""
    issues = check_subject(str(msg["Subject"]))
    issues += check_message(
        data,
        unsubscribe_url=recipient_links(
            config.public_url, PREVIEW_OUTBOX_ID, config.secret_key
        ).unsubscribe,
        organization=sender.organization,
        from_name=campaign.from_name,
        postal_address=sender.postal_address,
        allow_http_one_click=config.allow_http_one_click,
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
    return issues, lint.html_bytes


def _spam(data: bytes, spam: SpamChecker | None) -> tuple[SpamVerdict, str]:
    note = ""
    if spam is not None:
        try:
            return spam(data), ""
        except ServiceUnavailable as exc:
            note = f"{exc}; built-in heuristics used"
    msg = email.message_from_bytes(data, policy=email.policy.default)
    html_part, text_part = msg.get_body(("html",)), msg.get_body(("plain",))
    verdict = heuristic_verdict(
        str(msg["Subject"]),
        html_part.get_content() if html_part is not None else "",
        text_part.get_content() if text_part is not None else "",
    )
    return verdict, note


def _pixel_issue(conn: Connection, campaign: Campaign, verdict: SpamVerdict) -> list[Issue]:
    """SpamAssassin's HTML_IMAGE_ONLY_* rules count the open pixel as an image: a message
    with any image and under ~3,200 bytes of text scores up to 2.8 for it."""
    fired = [r for r in verdict.rules if r.name.startswith("HTML_IMAGE_ONLY") and r.score > 0]
    tracking = conn.execute(
        select(campaigns.c.tracking).where(campaigns.c.id == campaign.id)
    ).scalar()
    if not fired or not tracking or re.search(r"<img\b", campaign.html_template, re.I):
        return []
    rule = fired[0]
    return [
        Issue("warning", "tracking-pixel-image-only", f"the open-tracking pixel makes this "
              f"short message 'images with little text' for SpamAssassin ({rule.name} "
              f"{rule.score:+g})", "add text (over about 3,200 bytes), or send this campaign "
              "without tracking")
    ]  # fmt: skip


def _link_issues(results: Sequence[LinkResult]) -> list[Issue]:
    return [
        Issue("warning", "broken-link", f"{r.url}: {r.detail}", "fix or remove the link")
        for r in results
        if not r.ok
    ]


def run_preflight(
    conn: Connection,
    builder: CampaignMessageBuilder,
    campaign_id: int,
    *,
    now: datetime,
    config: PreflightConfig,
    spam: SpamChecker | None = None,
    dns: DnsChecker | None = None,
    planner: Planner | None = None,
    links: LinkChecker | None = None,
) -> PreflightReport:
    """The report for one campaign; ``builder`` must use the same key and public URL."""
    campaign = get_campaign(conn, campaign_id)
    sender = campaign_sender(conn, campaign_id, config.defaults)
    domain = campaign.from_email.rpartition("@")[2]
    people = _statuses(conn, campaign, sender, now, config)
    audience = audience_counts(conn, campaign, people, now=now, sender=sender)
    issues = _audience_issues(conn, campaign, people, audience, sender, now)
    has_key = find_domain(conn, domain) is not None
    issues.extend(check_authentication(domain, has_key))
    findings: list[Finding] = []
    if dns is not None and has_key:
        try:
            findings = list(dns(domain))
        except DnsCheckError as exc:
            issues.append(
                Issue("warning", "dns-unavailable", f"the DNS records of {domain} could not "
                      f"be checked: {exc}", "run `sendwell domains check` once DNS answers")
            )  # fmt: skip
        issues.extend(_dns_issues(findings))
    plan = None
    if planner is not None:
        domains: dict[str, int] = dict(
            conn.execute(
                select(people.c.domain, func.count())
                .where(people.c.status == "queued")
                .group_by(people.c.domain)
            ).all()
        )
        try:
            plan = planner(campaign.pool, domains)
        except ConfigError as exc:
            fix = "add a [[source]] for the campaign's pool to the shaping file"
            issues.append(Issue("blocker", "no-sending-source", str(exc), fix))
    checked = list(links(campaign_urls(campaign.html_template))) if links else None
    issues.extend(_link_issues(checked or []))
    report = PreflightReport(
        campaign_id, issues, audience, dns=findings, plan=plan, campaign=campaign,
        sender=sender, links=checked,
    )  # fmt: skip
    built = []
    for person in _sample(conn, people):
        job = OutboxJob(PREVIEW_OUTBOX_ID, campaign.id, None, person.email,
                        person.email.rpartition("@")[2], 0, None)  # fmt: skip
        built.append((person, builder.build_one(job, person)))
    failures = [(p, b) for p, b in built if isinstance(b, BuildFailure)]
    if failures:
        person, failure = failures[0]
        assert isinstance(failure, BuildFailure)
        issues.append(
            Issue("blocker", "template-error", f"{failure.reason} (for {person.email}; "
                  f"{len(failures)} of {len(built)} sampled recipients)", "fix the template")
        )  # fmt: skip
        return report
    first = built[0][1]
    assert not isinstance(first, BuildFailure)
    content, html_bytes = _content_issues(first.data, config, campaign, sender)
    issues.extend(content)
    if has_key:
        issues.extend(check_signature(first.data))
    verdict, note = _spam(first.data, spam)
    issues.extend(_pixel_issue(conn, campaign, verdict))
    if verdict.score >= SPAM_WARN_SCORE:
        rules = ", ".join(f"{r.name} {r.score:+g}" for r in verdict.top_rules(3))
        issues.append(
            Issue("warning", "spam-score", f"spam score {verdict.score} ({verdict.source}; "
                  f"spam at {verdict.threshold}): {rules}",
                  "remove shouting, money words and link-heavy blocks")
        )  # fmt: skip
    return PreflightReport(
        campaign_id, issues, audience, len(first.data), html_bytes, verdict, note, findings,
        plan, campaign, sender, checked,
    )  # fmt: skip
