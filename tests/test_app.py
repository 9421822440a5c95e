"""The start gate (``App.start_campaign``): a campaign with any preflight blocker does not
start, and the error lists each blocker with its fix. Real databases (both backends), the
real builder and a real DNS server on loopback publishing the sending domain."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from sendwell.app import App
from sendwell.audience.consent import Evidence
from sendwell.audience.lists import create_list, get_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.audience.suppressions import suppress
from sendwell.campaigns.preflight import PreflightReport
from sendwell.campaigns.service import create_campaign, get_campaign
from sendwell.clock import FrozenClock
from sendwell.config import Secret, Settings
from sendwell.domains.store import add_domain, get_domain
from sendwell.errors import ConflictError, PreflightBlocked
from sendwell.store.schema import campaigns, lists, outbox
from sendwell.store.schema_audience import consent_events
from tests.dns_thread import DnsThread, dns_thread

FOOTER = (
    "<p>{{ sender.organization }}, {{ sender.postal_address }} · "
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)
HTML = "<p>Hello {{ subscriber.first_name | default('there') }}, our November news.</p>" + FOOTER
CONSENT = Evidence(source="cli", method="manual", lawful_basis="consent")


@pytest.fixture
def dns() -> Iterator[DnsThread]:
    with dns_thread() as server:
        yield server


def _settings(tmp_path: Path, dns: DnsThread, **changes: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "secret_key": Secret("k" * 32),
        "spamd_address": "",
        "public_url": "https://mail.example.com",
        "sender_organization": "Example Inc.",
        "sender_postal_address": "1 Main St, Springfield",
        "dns_resolver": dns.setting,
    }
    return Settings().replace(**{**values, **changes})


class Scenario:
    """One draft campaign to consenting subscribers, its domain published in DNS."""

    def __init__(self, engine: Engine, clock: FrozenClock, tmp_path: Path, dns: DnsThread) -> None:
        self.engine, self.clock, self.tmp_path, self.dns = engine, clock, tmp_path, dns

    def app(self, **settings: object) -> App:
        return App(_settings(self.tmp_path, self.dns, **settings), self.engine, self.clock)

    def campaign(
        self, *, subject: str = "November news", html: str = HTML, optin: str = "single",
        consent: Evidence | None = CONSENT, domain: bool = True, publish: bool = True,
        people: int = 2,
    ) -> int:  # fmt: skip
        now = self.clock.now()
        with self.engine.begin() as conn:
            ml = create_list(conn, "News", now=now)
            add_subscribers(
                conn, [NewSubscriber(f"p{i}@example.org", f"P{i}") for i in range(people)],
                mailing_list=ml, now=now, evidence=consent,
            )  # fmt: skip
            if optin == "double":
                # Confirmed on a double opt-in list with no confirmation on record, as a
                # list switched from single to double opt-in leaves its members.
                conn.execute(update(lists).where(lists.c.id == ml.id).values(optin="double"))
            stored = None
            if domain:
                stored = add_domain(conn, "example.com", selector="s1", ed25519=False,
                                    secret_key=b"k" * 32, now=now)  # fmt: skip
            c = create_campaign(
                conn, name="", subject=subject, from_email="news@example.com",
                from_name="Example News", html_template=html, text_template=None,
                list_ids=[ml.id], now=now,
            )  # fmt: skip
        if stored is not None and publish:
            self.dns.publish_domain(stored, b"k" * 32)
        return c.id

    def rows(self, campaign_id: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).where(outbox.c.campaign_id == campaign_id)
            ).scalar_one()


@pytest.fixture
def s(engine: Engine, clock: FrozenClock, tmp_path: Path, dns: DnsThread) -> Scenario:
    return Scenario(engine, clock, tmp_path, dns)


def _blocked(app: App, campaign_id: int) -> dict[str, tuple[str, str]]:
    with pytest.raises(PreflightBlocked) as caught:
        app.start_campaign(campaign_id)
    error = caught.value
    assert error.campaign_id == campaign_id
    for code, problem, fix in error.blockers:
        assert problem and fix
        assert f"{code}: {problem} (fix: {fix})" in str(error)  # the message lists each
    with app.engine.connect() as conn:
        assert get_campaign(conn, campaign_id).state == "draft"
    return {code: (problem, fix) for code, problem, fix in error.blockers}


def test_a_compliant_campaign_starts(s: Scenario) -> None:
    cid = s.campaign()
    status = s.app().start_campaign(cid)
    assert (status.state, status.counts["queued"]) == ("running", 2)


def test_a_campaign_that_is_not_a_draft_is_refused_before_any_check(s: Scenario) -> None:
    cid = s.campaign()
    app = s.app()
    app.start_campaign(cid)
    with pytest.raises(ConflictError, match="is running, not a draft"):
        app.start_campaign(cid)


BLOCKERS: dict[str, Callable[[Scenario], tuple[App, int]]] = {
    "no-sender-identity": lambda s: (s.app(sender_organization=""), s.campaign(
        html="<p>Hi there, our news.</p><p>{{ sender.postal_address }} "
             '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>')),
    "no-postal-address": lambda s: (s.app(sender_postal_address=""), s.campaign()),
    "no-unsubscribe-link": lambda s: (s.app(), s.campaign(
        html="<p>News.</p><p>{{ sender.organization }}, {{ sender.postal_address }}</p>")),
    "no-one-click-unsubscribe": lambda s: (s.app(public_url="ftp://mail.example.com"),
                                           s.campaign()),
    "one-click-not-https": lambda s: (s.app(public_url="http://mail.example.com"), s.campaign()),
    "from-domain-not-authenticated": lambda s: (s.app(), s.campaign(domain=False)),
    "deceptive-subject": lambda s: (s.app(), s.campaign(subject="RE: your November order")),
    "audience-no-consent": lambda s: (s.app(), s.campaign(consent=None)),
    "audience-unconfirmed": lambda s: (s.app(), s.campaign(optin="double")),
    "dns-dkim": lambda s: (s.app(), _dkim_not_published(s)),
    "dns-dmarc": lambda s: (s.app(), _dmarc_not_published(s)),
    "template-error": lambda s: (s.app(), s.campaign(html=HTML + "{{ subscriber.nickname }}")),
}  # fmt: skip


def _dkim_not_published(s: Scenario) -> int:
    cid = s.campaign(publish=False)
    with s.engine.connect() as conn:
        s.dns.publish_domain(get_domain(conn, "example.com"), b"k" * 32, skip=("DKIM",))
    return cid


def _dmarc_not_published(s: Scenario) -> int:
    cid = s.campaign(publish=False)
    with s.engine.connect() as conn:
        s.dns.publish_domain(get_domain(conn, "example.com"), b"k" * 32, skip=("DMARC",))
    return cid


@pytest.mark.parametrize("code", sorted(BLOCKERS))
def test_each_blocker_stops_the_start(s: Scenario, code: str) -> None:
    app, cid = BLOCKERS[code](s)
    blockers = _blocked(app, cid)
    assert code in blockers, blockers
    assert s.rows(cid) == 0  # nothing was queued


def test_lapsed_implied_consent_blocks(s: Scenario) -> None:
    expired = Evidence(source="import", method="import", lawful_basis="soft_opt_in",
                       implied_expires_at=s.clock.now() - timedelta(days=1))  # fmt: skip
    cid = s.campaign(consent=expired)
    problem, fix = _blocked(s.app(), cid)["audience-consent-lapsed"]
    assert "2 recipients" in problem and "p0@example.org" in problem
    assert "subscribe again" in fix


def test_an_audience_that_is_all_suppressed_is_empty(s: Scenario) -> None:
    cid = s.campaign()
    with s.engine.begin() as conn:
        for i in range(2):
            suppress(conn, f"p{i}@example.org", reason="complaint", now=s.clock.now())
    assert "empty-audience" in _blocked(s.app(), cid)
    assert s.rows(cid) == 0


def test_suppressed_people_never_become_recipients(s: Scenario) -> None:
    cid = s.campaign(people=3)
    with s.engine.begin() as conn:
        suppress(conn, "p1@example.org", reason="unsubscribe", now=s.clock.now())
    app = s.app()
    assert app.preflight(cid, plan=False).audience.suppressed == 1
    status = app.start_campaign(cid)
    assert (status.counts["queued"], status.counts["suppressed"]) == (2, 1)


def test_unreachable_dns_is_a_warning_and_the_campaign_starts(s: Scenario) -> None:
    cid = s.campaign(publish=False)
    s.dns.fault("example.com", "timeout")
    app = s.app()
    report = app.preflight(cid, plan=False)
    assert "dns-unavailable" in {w.code for w in report.warnings}
    assert not report.blockers
    assert app.start_campaign(cid).state == "running"


class RacyApp(App):
    """Changes the world between the check and the start, as a second user might."""

    change: Callable[[], None] = staticmethod(lambda: None)

    def preflight(self, campaign_id: int, **kw: bool) -> PreflightReport:
        report = super().preflight(campaign_id, **kw)
        self.change()
        return report


def test_a_campaign_edited_during_the_check_is_not_started(s: Scenario) -> None:
    cid = s.campaign()
    app = RacyApp(_settings(s.tmp_path, s.dns), s.engine, s.clock)

    def edit() -> None:
        with s.engine.begin() as conn:
            conn.execute(update(campaigns).where(campaigns.c.id == cid).values(subject="Re: x"))

    app.change = edit  # type: ignore[method-assign]
    with pytest.raises(ConflictError, match="changed while it was being checked"):
        app.start_campaign(cid)
    assert s.rows(cid) == 0


def test_people_added_without_consent_after_the_check_are_excluded(s: Scenario) -> None:
    cid = s.campaign()
    app = RacyApp(_settings(s.tmp_path, s.dns), s.engine, s.clock)

    def add_unconsented() -> None:
        with s.engine.begin() as conn:
            ml = conn.execute(select(lists)).first()
            assert ml is not None
            add_subscribers(conn, [NewSubscriber("late@example.org")],
                            mailing_list=get_list(conn, ml.id), now=s.clock.now())  # fmt: skip

    app.change = add_unconsented  # type: ignore[method-assign]
    status = app.start_campaign(cid)
    assert (status.counts["queued"], status.counts["excluded"]) == (2, 1)
    with s.engine.connect() as conn:
        late = conn.execute(select(outbox.c.status).where(outbox.c.email == "late@example.org"))
        assert late.scalar_one() == "excluded"
        assert conn.execute(select(func.count()).select_from(consent_events)).scalar_one() == 2
