"""The message builder: bulk headers, template links, and DKIM with the From domain's key."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable

import dkim
import pytest
from sqlalchemy import Engine, select

from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.builder import CampaignMessageBuilder, Person
from sendwell.campaigns.sender import SenderDefaults, set_campaign_settings
from sendwell.campaigns.service import create_campaign, start_campaign
from sendwell.clock import FrozenClock
from sendwell.compose.dkim import dns_txt_value
from sendwell.compose.links import parse_link_token
from sendwell.compose.reference import parse_reference, parse_unsubscribe_address
from sendwell.compose.verp import parse_verp
from sendwell.delivery.jobs import BuildFailure, OutboxJob, PreparedMessage
from sendwell.domains.store import add_domain, get_domain
from sendwell.store.schema import outbox

KEY = b"s" * 32
HTML = (
    "<p>Hi {{ subscriber.first_name | default('there') }}</p>"
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> · '
    '<a href="{{ view_url }}">view</a></p>'
    "<p>{{ sender.organization }}, {{ sender.postal_address }}</p>"
)


def _setup(
    engine: Engine,
    clock: FrozenClock,
    *,
    domain: bool,
    people: tuple[NewSubscriber, ...] = (
        NewSubscriber("ann@example.org", "Ann"),
        NewSubscriber("zoe@example.net", "Zoë\r\nBcc: x@y.z"),
    ),
    subject: str = "Hello {{ subscriber.first_name }}",
    from_name: str = "Example News",
) -> list[OutboxJob]:
    now = clock.now()
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
        add_subscribers(conn, list(people), mailing_list=ml, now=now)
        campaign = create_campaign(
            conn, name="", subject=subject, from_email="news@example.com", from_name=from_name,
            html_template=HTML, text_template=None, list_ids=[ml.id], now=now,
        )  # fmt: skip
        set_campaign_settings(conn, campaign.id, postal_address="1 Main St, Springfield")
        if domain:
            add_domain(conn, "example.com", selector="s1", ed25519=True, secret_key=KEY, now=now)
        start_campaign(conn, campaign.id, now=now)
        rows = conn.execute(select(outbox).order_by(outbox.c.id)).all()
    return [
        OutboxJob(r.id, r.campaign_id, r.subscriber_id, r.email, r.domain, 0, None) for r in rows
    ]


def _builder(engine: Engine, clock: FrozenClock) -> CampaignMessageBuilder:
    return CampaignMessageBuilder(
        engine, clock=clock, secret_key=KEY, bounce_domain="bounces.example.com",
        public_url="https://mail.example.com/", feedback_sender="acme",
        sender_defaults=SenderDefaults(organization="Example Inc."),
    )  # fmt: skip


def _prepared(results: list[PreparedMessage | BuildFailure]) -> list[PreparedMessage]:
    assert all(isinstance(r, PreparedMessage) for r in results), results
    return results  # type: ignore[return-value]


def test_messages_carry_bulk_headers_and_links(engine: Engine, clock: FrozenClock) -> None:
    jobs = _setup(engine, clock, domain=False)
    messages = _prepared(_builder(engine, clock).build(jobs))
    for job, prepared in zip(jobs, messages, strict=True):
        msg = email.message_from_bytes(prepared.data, policy=email.policy.default)
        assert msg.defects == []
        for name in ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe",
                     "List-Unsubscribe-Post", "Feedback-ID", "X-Sendwell-Ref"):  # fmt: skip
            assert len(msg.get_all(name) or []) == 1, name
        assert msg.get_all("Bcc") is None
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https, mailto = (p.strip(" <>") for p in str(msg["List-Unsubscribe"]).split(","))
        assert https.startswith("https://mail.example.com/u/")
        assert parse_link_token("u", https.rsplit("/", 1)[1], KEY) == job.id
        assert parse_unsubscribe_address(mailto.removeprefix("mailto:"), KEY) == job.id
        assert parse_reference(str(msg["X-Sendwell-Ref"]), KEY) == job.id
        assert msg["Feedback-ID"] == f"{job.campaign_id}:1:campaign:acme"
        assert parse_verp(prepared.mail_from, KEY) == job.id
        assert prepared.mail_from.endswith("@bounces.example.com")
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert https in html and "Example Inc., 1 Main St, Springfield" in html
        assert "DKIM-Signature" not in msg  # no sending domain: unsigned


def test_messages_are_signed_with_the_from_domains_keys(engine: Engine, clock: FrozenClock) -> None:
    jobs = _setup(engine, clock, domain=True)
    with engine.connect() as conn:
        d = get_domain(conn, "example.com")
    ed_pem = d.ed25519_pem(KEY)
    assert ed_pem is not None
    records = {
        "s1._domainkey.example.com.": dns_txt_value(d.private_pem(KEY)).encode(),
        f"{d.ed25519_selector}._domainkey.example.com.": dns_txt_value(ed_pem).encode(),
    }
    lookup: Callable[..., bytes | None] = lambda name, timeout=5: records.get(name.decode())  # noqa: E731
    for prepared in _prepared(_builder(engine, clock).build(jobs)):
        verifier = dkim.DKIM(prepared.data)
        assert verifier.verify(idx=0, dnsfunc=lookup)
        assert verifier.verify(idx=1, dnsfunc=lookup)
        msg = email.message_from_bytes(prepared.data, policy=email.policy.default)
        assert len(msg.get_all("DKIM-Signature") or []) == 2


@pytest.mark.parametrize("bad", ["{{ subscriber.nope }}", "{{ ''.__class__ }}"])
def test_template_errors_fail_the_job_not_the_batch(
    engine: Engine, clock: FrozenClock, bad: str
) -> None:
    jobs = _setup(engine, clock, domain=False)
    from sqlalchemy import update

    from sendwell.store.schema import campaigns

    with engine.begin() as conn:
        conn.execute(update(campaigns).values(html_template=bad))
    results = _builder(engine, clock).build(jobs)
    assert all(isinstance(r, BuildFailure) for r in results)


def test_smtputf8_is_asked_for_only_by_internationalized_addresses(
    engine: Engine, clock: FrozenClock
) -> None:
    """Non-ASCII names and subjects travel as RFC 2047 words in a pure-ASCII message;
    only an internationalized address (RFC 6531) needs SMTPUTF8 from the server."""
    jobs = _setup(
        engine,
        clock,
        domain=False,
        people=(NewSubscriber("zoe@example.net", "Zoë"), NewSubscriber("jörg@example.de", "Jörg")),
        subject="Grüße, {{ subscriber.first_name }}",
        from_name="Bäckerei",
    )
    ascii_one, intl = _prepared(_builder(engine, clock).build(jobs))
    assert (ascii_one.rcpt, ascii_one.smtputf8) == ("zoe@example.net", False)
    assert ascii_one.data.isascii()
    msg = email.message_from_bytes(ascii_one.data, policy=email.policy.default)
    assert msg["Subject"] == "Grüße, Zoë"
    assert msg["From"].addresses[0].display_name == "Bäckerei"
    assert (intl.rcpt, intl.smtputf8) == ("jörg@example.de", True)
    assert "To: jörg@example.de".encode() in intl.data


def test_an_unexpected_error_fails_one_job_not_the_batch(
    engine: Engine, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = _setup(engine, clock, domain=False)

    class Faulty(CampaignMessageBuilder):
        def build_one(self, job: OutboxJob, person: Person) -> PreparedMessage | BuildFailure:
            if job.id == jobs[0].id:
                raise RuntimeError("boom")
            return super().build_one(job, person)

    first, second = Faulty(engine, clock=clock, secret_key=KEY).build(jobs)
    assert isinstance(first, BuildFailure) and "RuntimeError('boom')" in first.reason
    assert isinstance(second, PreparedMessage)
    assert f"outbox row {jobs[0].id} failed" in caplog.text
