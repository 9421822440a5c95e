"""Previews and renders: the worker's own builder, read back as the recipient sees it."""

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
from sendwell.campaigns.builder import CampaignMessageBuilder
from sendwell.campaigns.compliance import check_message, check_subject
from sendwell.campaigns.content import create_campaign_with_content
from sendwell.campaigns.preview import preview_message, preview_template, read_parts
from sendwell.campaigns.sender import SenderDefaults
from sendwell.campaigns.service import start_campaign
from sendwell.clock import FrozenClock
from sendwell.compose.dkim import dns_txt_value
from sendwell.compose.links import parse_link_token, recipient_links
from sendwell.compose.verp import parse_verp
from sendwell.content.library import content_source, get_template
from sendwell.content.lint import lint_content
from sendwell.content.shipped import install_example
from sendwell.content.spam import heuristic_score
from sendwell.delivery.jobs import OutboxJob, PreparedMessage
from sendwell.domains.store import add_domain, get_domain
from sendwell.errors import NotFound
from sendwell.store.schema import outbox

KEY = b"k" * 32
DEFAULTS = SenderDefaults(organization="Example Ltd", postal_address="1 Main St, Springfield")


def _builder(engine: Engine, clock: FrozenClock) -> CampaignMessageBuilder:
    return CampaignMessageBuilder(
        engine, clock=clock, secret_key=KEY, bounce_domain="bounces.example.com",
        public_url="https://mail.example.com", sender_defaults=DEFAULTS,
    )  # fmt: skip


def _setup(engine: Engine, clock: FrozenClock, example: str = "newsletter") -> int:
    now = clock.now()
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
        other = create_list(conn, "Other", now=now)
        add_subscribers(
            conn,
            [NewSubscriber("ann@example.org", "Ann", attributes={"plan": "pro"}),
             NewSubscriber("bob@example.net", None)],
            mailing_list=ml, now=now,
        )  # fmt: skip
        add_subscribers(conn, [NewSubscriber("zed@example.org", "Zed")], mailing_list=other,
                        now=now)  # fmt: skip
        add_domain(conn, "example.com", selector="s1", ed25519=False, secret_key=KEY, now=now)
        install_example(conn, example, now=now)
        template = get_template(conn, example)
        return create_campaign_with_content(
            conn, content_source(conn, template), name="", from_email="news@example.com",
            from_name="Example News", list_ids=[ml.id], now=now, origin=template,
        ).campaign.id  # fmt: skip


def _dkim_lookup(engine: Engine) -> Callable[..., bytes | None]:
    with engine.connect() as conn:
        d = get_domain(conn, "example.com")
    records = {"s1._domainkey.example.com.": dns_txt_value(d.private_pem(KEY)).encode()}
    return lambda name, timeout=5: records.get(name.decode())


def test_preview_is_the_message_as_the_subscriber_gets_it(
    engine: Engine, clock: FrozenClock
) -> None:
    campaign_id = _setup(engine, clock)
    builder = _builder(engine, clock)
    with engine.connect() as conn:
        ann = preview_message(conn, builder, campaign_id, email_address="ann@example.org")
        bob = preview_message(conn, builder, campaign_id, email_address="bob@example.net")
        sample = preview_message(conn, builder, campaign_id)
        zed = preview_message(conn, builder, campaign_id, email_address="zed@example.org")
        with pytest.raises(NotFound, match=r"no subscriber nobody@example\.org"):
            preview_message(conn, builder, campaign_id, email_address="nobody@example.org")
    assert ann.subject == "What's new at Example Ltd this month"
    assert "Hello Ann," in ann.text and "Hello Ann," in ann.html
    assert "As a Pro customer" in ann.html and "As a Pro customer" not in bob.html
    assert "Hello there," in bob.text
    # Tracking is on: literal links become signed click links, plus an open pixel.
    assert "https://mail.example.com/c/" in ann.html
    assert "https://example.com/blog/faster-reports" not in ann.html
    assert "https://mail.example.com/o/" in ann.html
    # Before the start, links carry the placeholder row 0.
    assert (ann.outbox_id, ann.in_audience) == (None, True)
    assert "https://mail.example.com/u/0-" in ann.text
    assert "1 Main St, Springfield" in ann.text and "1 Main St, Springfield" in ann.html
    assert sample.email == "ann@example.org"  # the first confirmed subscriber
    assert (zed.email, zed.in_audience) == ("zed@example.org", False)


def test_after_the_start_links_are_those_of_the_outbox_row(
    engine: Engine, clock: FrozenClock
) -> None:
    campaign_id = _setup(engine, clock)
    with engine.begin() as conn:
        start_campaign(conn, campaign_id, now=clock.now())
        row = conn.execute(select(outbox).where(outbox.c.email == "ann@example.org")).one()
    builder = _builder(engine, clock)
    with engine.connect() as conn:
        preview = preview_message(conn, builder, campaign_id, email_address="ann@example.org")
    assert preview.outbox_id == row.id
    assert parse_verp(preview.mail_from, KEY) == row.id
    token = preview.text.split("https://mail.example.com/u/")[1].split(")")[0]
    assert parse_link_token("u", token, KEY) == row.id
    # The worker's build for that row: the same message but for Date and Message-ID (and
    # what depends on them: the MIME boundary and the DKIM signature).
    job = OutboxJob(row.id, campaign_id, row.subscriber_id, row.email, row.domain, 0, None)
    (worker_built,) = _builder(engine, clock).build([job])
    assert isinstance(worker_built, PreparedMessage)
    assert worker_built.mail_from == preview.mail_from
    ours, theirs = (
        email.message_from_bytes(m, policy=email.policy.default)
        for m in (preview.message, worker_built.data)
    )
    varying = {"Message-ID", "DKIM-Signature", "Content-Type"}
    assert [(k, str(v)) for k, v in ours.items() if k not in varying] == [
        (k, str(v)) for k, v in theirs.items() if k not in varying
    ]
    assert read_parts(worker_built.data) == (preview.subject, preview.html, preview.text)


@pytest.mark.parametrize("example", ["newsletter", "announcement"])
def test_render_is_one_signed_rfc5322_message(
    engine: Engine, clock: FrozenClock, example: str
) -> None:
    campaign_id = _setup(engine, clock, example)
    with engine.connect() as conn:
        preview = preview_message(
            conn, _builder(engine, clock), campaign_id, email_address="ann@example.org"
        )
    data = preview.message
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg.defects == []
    for name in ("Message-ID", "Date", "From", "To", "Subject"):
        assert len(msg.get_all(name) or []) == 1, name
    assert msg["To"] == "ann@example.org"
    assert msg["From"] == "Example News <news@example.com>"
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert dkim.verify(data, dnsfunc=_dkim_lookup(engine))


def test_template_previews_use_sample_or_real_subscribers(
    engine: Engine, clock: FrozenClock
) -> None:
    _setup(engine, clock)
    with engine.connect() as conn:
        news = get_template(conn, "newsletter")
        sample = preview_template(conn, news, email_address=None, sender=DEFAULTS,
                                  public_url="https://m.example", secret_key=KEY)  # fmt: skip
        ann = preview_template(conn, news, email_address="ann@example.org", sender=DEFAULTS,
                               public_url="https://m.example", secret_key=KEY)  # fmt: skip
        layout = preview_template(conn, get_template(conn, "house-layout"), email_address=None,
                                  sender=DEFAULTS, public_url="https://m.example",
                                  secret_key=KEY)  # fmt: skip
    assert sample.subject == "What's new at Example Ltd this month"
    assert "Hello Ada," in sample.html and "As a Pro customer" in sample.html
    assert "Hello Ann," in (ann.text or "")
    assert "The content of a campaign goes here." in layout.html
    assert "https://m.example/u/0-" in layout.html


@pytest.mark.parametrize("example", ["newsletter", "announcement"])
def test_shipped_examples_pass_the_compliance_and_content_rules(
    engine: Engine, clock: FrozenClock, example: str
) -> None:
    campaign_id = _setup(engine, clock, example)
    with engine.connect() as conn:
        preview = preview_message(conn, _builder(engine, clock), campaign_id)
    unsubscribe = recipient_links("https://mail.example.com", 0, KEY).unsubscribe
    issues = check_subject(preview.subject) + check_message(
        preview.message, unsubscribe_url=unsubscribe, organization=DEFAULTS.organization,
        from_name="Example News", postal_address=DEFAULTS.postal_address,
    )  # fmt: skip
    assert issues == []
    lint = lint_content(preview.html, preview.text)
    assert not (lint.clipped_by_gmail or lint.image_only or lint.images_without_alt)
    assert heuristic_score(preview.subject, preview.html, preview.text) <= 1.0
