"""Preflight on real databases: a compliant campaign passes, each gap is a blocker."""

from __future__ import annotations

from sqlalchemy import Engine

from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.builder import CampaignMessageBuilder
from sendwell.campaigns.preflight import PreflightReport, run_preflight
from sendwell.campaigns.sender import SenderDefaults
from sendwell.campaigns.service import create_campaign
from sendwell.clock import FrozenClock
from sendwell.domains.check import Finding
from sendwell.domains.store import add_domain

KEY = b"k" * 32
PUBLIC = "https://mail.example.com"
FOOTER = (
    "<p>{{ sender.organization }}, {{ sender.postal_address }} · "
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)
DEFAULTS = SenderDefaults(organization="Example Inc.", postal_address="1 Main St, Springfield")


def _report(
    engine: Engine, clock: FrozenClock, *, subject: str = "November news",
    html: str = "<p>Hello {{ subscriber.first_name | default('there') }}, here is our news "
    "for the month with plenty of words to read.</p>" + FOOTER,
    domain: bool = True, people: bool = True, defaults: SenderDefaults = DEFAULTS,
    dns: list[Finding] | None = None,
) -> PreflightReport:  # fmt: skip
    now = clock.now()
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
        dbl = create_list(conn, "Double", now=now, optin="double")
        if people:
            add_subscribers(conn, [NewSubscriber("ann@example.org", "Ann")], mailing_list=ml,
                            now=now)  # fmt: skip
        add_subscribers(conn, [NewSubscriber("bob@example.org")], mailing_list=dbl, now=now)
        campaign = create_campaign(
            conn, name="", subject=subject, from_email="news@example.com",
            from_name="Example News", html_template=html, text_template=None,
            list_ids=[ml.id, dbl.id], now=now,
        )  # fmt: skip
        if domain:
            add_domain(conn, "example.com", selector="s1", ed25519=False, secret_key=KEY, now=now)
    builder = CampaignMessageBuilder(
        engine, clock=clock, secret_key=KEY, public_url=PUBLIC, sender_defaults=defaults
    )
    with engine.connect() as conn:
        return run_preflight(
            conn, builder, campaign.id, now=now, secret_key=KEY, public_url=PUBLIC,
            defaults=defaults, dns=dns or [],
        )  # fmt: skip


def _blockers(report: PreflightReport) -> set[str]:
    return {i.code for i in report.blockers}


def test_compliant_campaign_passes(engine: Engine, clock: FrozenClock) -> None:
    report = _report(engine, clock)
    assert _blockers(report) == set(), report.blockers
    assert report.audience.eligible == 1 and report.audience.unconfirmed == 1
    assert report.spam_source == "heuristic" and report.spam_score is not None
    assert report.spam_score < 1.0
    assert report.as_json()["ok"] is True
    assert {i.code for i in report.warnings} == {"unconfirmed"}


def test_each_gap_is_a_blocker(engine: Engine, clock: FrozenClock) -> None:
    report = _report(
        engine, clock, subject="Re: November news", html="<p>Hi</p>", domain=False,
        people=False, defaults=SenderDefaults(),
        dns=[Finding("DMARC", False, "no record", "publish it")],
    )  # fmt: skip
    assert _blockers(report) == {
        "deceptive-subject", "no-sender-identity", "no-postal-address", "no-unsubscribe-link",
        "from-domain-not-authenticated", "empty-audience", "dns-dmarc",
    }  # fmt: skip
    assert all(i.fix for i in report.issues)


def test_template_errors_are_blockers(engine: Engine, clock: FrozenClock) -> None:
    report = _report(engine, clock, html="<p>{{ subscriber.missing }}</p>" + FOOTER)
    assert "template-error" in _blockers(report)


def test_content_warnings(engine: Engine, clock: FrozenClock) -> None:
    html = '<img src="https://x/a.png"><img src="https://x/b.png" alt="b">' + FOOTER
    report = _report(engine, clock, html=html + "<!--" + "x" * 110_000 + "-->")
    assert {"missing-alt-text", "image-only", "gmail-clipping"} <= {i.code for i in report.warnings}
