"""Preflight on real databases: a compliant campaign passes, each gap is a blocker, the
report carries spamd's score and rules and the delivery-plan estimate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from sqlalchemy import Engine

from sendwell.audience.consent import Evidence
from sendwell.audience.lists import all_lists, create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.builder import CampaignMessageBuilder
from sendwell.campaigns.preflight import (
    DnsChecker,
    LinkChecker,
    Planner,
    PreflightConfig,
    PreflightReport,
    SpamChecker,
    run_preflight,
)
from sendwell.campaigns.sender import SenderDefaults
from sendwell.campaigns.service import create_campaign
from sendwell.clock import FrozenClock
from sendwell.content.linkcheck import LinkResult
from sendwell.content.spamd import SpamdClient
from sendwell.delivery.estimate import DeliveryPlan, SiteDemand, estimate_delivery
from sendwell.delivery.shaping import load_shaping
from sendwell.domains.check import DnsCheckError, Finding
from sendwell.domains.store import add_domain, find_domain
from sendwell.errors import ServiceUnavailable

KEY = b"k" * 32
PUBLIC = "https://mail.example.com"
FOOTER = (
    "<p>{{ sender.organization }}, {{ sender.postal_address }} · "
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)
DEFAULTS = SenderDefaults(organization="Example Inc.", postal_address="1 Main St, Springfield")
CONSENT = Evidence(source="cli", method="manual", lawful_basis="consent")
GOOD_HTML = (
    "<p>Hello {{ subscriber.first_name | default('there') }}, here is our news for the "
    "month with plenty of words to read.</p>" + FOOTER
)


def _report(
    engine: Engine, clock: FrozenClock, *, subject: str = "November news", html: str = GOOD_HTML,
    domain: bool = True, people: bool = True, defaults: SenderDefaults = DEFAULTS,
    dns: DnsChecker | None = None, spam: SpamChecker | None = None,
    planner: Planner | None = None, links: LinkChecker | None = None,
) -> PreflightReport:  # fmt: skip
    now = clock.now()
    with engine.begin() as conn:
        n = len(all_lists(conn))  # a test may build several reports: fresh list names
        ml = create_list(conn, f"News {n}", now=now)
        dbl = create_list(conn, f"Double {n}", now=now, optin="double")
        if people:
            add_subscribers(conn, [NewSubscriber("ann@example.org", "Ann")], mailing_list=ml,
                            now=now, evidence=CONSENT)  # fmt: skip
        add_subscribers(conn, [NewSubscriber("bob@example.org")], mailing_list=dbl, now=now,
                        evidence=CONSENT)  # fmt: skip
        campaign = create_campaign(
            conn, name="", subject=subject, from_email="news@example.com",
            from_name="Example News", html_template=html, text_template=None,
            list_ids=[ml.id, dbl.id], now=now,
        )  # fmt: skip
        if domain and find_domain(conn, "example.com") is None:
            add_domain(conn, "example.com", selector="s1", ed25519=False, secret_key=KEY, now=now)
    builder = CampaignMessageBuilder(
        engine, clock=clock, secret_key=KEY, public_url=PUBLIC, sender_defaults=defaults
    )
    config = PreflightConfig(secret_key=KEY, public_url=PUBLIC, defaults=defaults)
    with engine.connect() as conn:
        return run_preflight(conn, builder, campaign.id, now=now, config=config, dns=dns,
                             spam=spam, planner=planner, links=links)  # fmt: skip


def _blockers(report: PreflightReport) -> set[str]:
    return {i.code for i in report.blockers}


def test_compliant_campaign_passes(engine: Engine, clock: FrozenClock) -> None:
    report = _report(engine, clock)
    assert _blockers(report) == set(), report.blockers
    assert report.audience.eligible == 1 and report.audience.unconfirmed == 1
    assert report.spam is not None and report.spam_source == "heuristic"
    assert report.spam.score < 1.0
    assert report.as_json()["ok"] is True
    assert {i.code for i in report.warnings} == {"unconfirmed"}


def _dmarc_missing(domain: str) -> Sequence[Finding]:
    return [Finding("DMARC", False, "no record", "publish it")]


def test_each_gap_is_a_blocker(engine: Engine, clock: FrozenClock) -> None:
    report = _report(
        engine, clock, subject="Re: November news", html="<p>Hi</p>", domain=False,
        people=False, defaults=SenderDefaults(), dns=_dmarc_missing,
    )  # fmt: skip
    # No DKIM key: the DNS check is not run (the missing key is the blocker to fix first).
    assert _blockers(report) == {
        "deceptive-subject", "no-sender-identity", "no-postal-address", "no-unsubscribe-link",
        "from-domain-not-authenticated", "empty-audience",
    }  # fmt: skip
    assert all(i.fix for i in report.issues)


def test_definite_dns_failures_block_and_unanswered_dns_warns(
    engine: Engine, clock: FrozenClock
) -> None:
    def findings(domain: str) -> Sequence[Finding]:
        assert domain == "example.com"
        return [
            Finding("DKIM", False, "no TXT record at s1._domainkey.example.com", "publish it"),
            Finding("DMARC alignment (SPF)", False, "return path b.other.net", "use a subdomain"),
        ]

    report = _report(engine, clock, dns=findings)
    assert _blockers(report) == {"dns-dkim"}
    assert "dns-dmarc-alignment-spf" in {w.code for w in report.warnings}

    def unanswered(domain: str) -> Sequence[Finding]:
        raise DnsCheckError("DNS lookup example.com TXT failed: timed out")

    report = _report(engine, clock, dns=unanswered)
    assert _blockers(report) == set()
    (warning,) = [w for w in report.warnings if w.code == "dns-unavailable"]
    assert "timed out" in warning.message


def test_template_errors_are_blockers(engine: Engine, clock: FrozenClock) -> None:
    report = _report(engine, clock, html="<p>{{ subscriber.missing }}</p>" + FOOTER)
    (issue,) = [i for i in report.blockers if i.code == "template-error"]
    assert "ann@example.org" in issue.message and "1 of 1 sampled" in issue.message


def test_content_warnings(engine: Engine, clock: FrozenClock) -> None:
    html = '<img src="https://x/a.png"><img src="https://x/b.png" alt="b">' + FOOTER
    report = _report(engine, clock, html=html + "<!--" + "x" * 110_000 + "-->")
    assert {"missing-alt-text", "image-only", "gmail-clipping"} <= {i.code for i in report.warnings}


def test_spamd_unavailable_falls_back_to_heuristics_and_says_why(
    engine: Engine, clock: FrozenClock
) -> None:
    def down(data: bytes) -> object:
        raise ServiceUnavailable("spamd at 127.0.0.1:783 cannot be reached: Connection refused")

    report = _report(engine, clock, spam=down)  # type: ignore[arg-type]
    assert report.spam_source == "heuristic"
    assert "Connection refused" in report.spam_note and "heuristics" in report.spam_note
    assert report.as_json()["content"]["spam_note"] == report.spam_note


SPAMMY = (
    "<h1>CONGRATULATIONS WINNER!!!</h1><p>100% GUARANTEED, RISK FREE cash. Buy cheap viagra "
    "online, no prescription needed! Act now!</p>" + FOOTER
)


def test_the_report_shows_spamds_score_and_top_rules(
    engine: Engine, clock: FrozenClock, spamd: SpamdClient
) -> None:
    report = _report(engine, clock, subject="FREE CASH WINNER!!!", html=SPAMMY, spam=spamd.check)
    assert report.spam is not None and report.spam_source == "spamd"
    assert report.spam.score >= 5.0
    content = report.as_json()["content"]
    assert content["spam_threshold"] == 5.0
    rules = content["spam_rules"]
    assert 1 <= len(rules) <= 5 and all(r["score"] > 0 and r["description"] for r in rules)
    assert [r["score"] for r in rules] == sorted((r["score"] for r in rules), reverse=True)
    (warning,) = [w for w in report.warnings if w.code == "spam-score"]
    assert rules[0]["name"] in warning.message and "(spamd; spam at 5.0)" in warning.message
    # A short, clean message: no spam warning, but the open pixel alone makes it "images
    # with little text" to SpamAssassin, and preflight says so.
    short = _report(engine, clock, spam=spamd.check, subject="December news")
    assert short.spam is not None and short.spam.score < 3.0
    (pixel,) = [w for w in short.warnings if w.code == "tracking-pixel-image-only"]
    assert "HTML_IMAGE_ONLY_04" in pixel.message and "without tracking" in pixel.fix


def test_the_report_carries_the_delivery_plan_for_the_queued_domains(
    engine: Engine, clock: FrozenClock
) -> None:
    seen: list[tuple[str, Mapping[str, int]]] = []

    def planner(pool: str, domains: Mapping[str, int]) -> DeliveryPlan:
        seen.append((pool, dict(domains)))
        demand = [SiteDemand(f"mx.{d}", n, (d,)) for d, n in domains.items()]
        return estimate_delivery(demand, load_shaping(), pool=pool, warmup={}, now=clock.now())

    report = _report(engine, clock, planner=planner)
    # Only the one eligible recipient is planned (bob is unconfirmed on the double list).
    assert seen == [("default", {"example.org": 1})]
    plan = report.as_json()["delivery_plan"]
    assert plan["recipients"] == 1
    assert plan["duration_seconds"] == pytest.approx(36.0)  # one message at 100/h
    (site,) = plan["sites"]
    assert (site["site"], site["max_message_rate_per_hour"], site["connection_limit"]) == (
        "mx.example.org", 100, 10,
    )  # fmt: skip


def test_links_that_do_not_answer_are_warnings_with_the_reason(
    engine: Engine, clock: FrozenClock
) -> None:
    asked: list[list[str]] = []

    def links(urls: Sequence[str]) -> list[LinkResult]:
        asked.append(list(urls))
        return [
            LinkResult(u, "gone" not in u, 200 if "gone" not in u else 404, "HTTP 404 Not Found")
            for u in urls
        ]

    html = (
        '<p>Read <a href="https://example.com/story">the story</a> and '
        '<a href="https://example.com/gone">the archive</a>.</p>' + GOOD_HTML
    )
    report = _report(engine, clock, html=html, links=links)
    assert asked == [["https://example.com/story", "https://example.com/gone"]]
    broken = [i for i in report.warnings if i.code == "broken-link"]
    assert [i.message for i in broken] == ["https://example.com/gone: HTTP 404 Not Found"]
    assert not report.blockers
    assert [r["url"] for r in report.as_json()["links"]] == asked[0]
    assert _report(engine, clock).as_json()["links"] is None  # not checked unless asked
