"""Each compliance blocker, demonstrated on rendered messages; the frequency-cap query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, update

from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.compliance import (
    check_authentication,
    check_message,
    check_signature,
    check_subject,
    frequency_capped,
)
from sendwell.campaigns.service import create_campaign
from sendwell.clock import FrozenClock
from sendwell.compose.message import MessageParts, build_message
from sendwell.store.schema import outbox, subscribers

URL = "https://mail.example.com/u/0-abc"
GOOD_HTML = f'<p>News</p><p>Example Inc., 1 Main St</p><a href="{URL}">Unsubscribe</a>'
HEADERS = [
    ("List-Unsubscribe", f"<{URL}>, <mailto:u@example.com>"),
    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
]


def _msg(html: str = GOOD_HTML, text: str = f"News {URL}", headers: object = HEADERS) -> bytes:
    parts = MessageParts(
        "Example", "news@example.com", "a@example.org", "Hi", html, text, "<1@example.com>",
        datetime(2026, 1, 1, tzinfo=UTC), headers,  # type: ignore[arg-type]
    )  # fmt: skip
    return build_message(parts)


def _codes(data: bytes, postal: str = "1 Main St", org: str = "Example Inc.") -> set[str]:
    issues = check_message(
        data, unsubscribe_url=URL, organization=org, from_name="", postal_address=postal
    )
    assert all(i.fix for i in issues)
    return {i.code for i in issues if i.level == "blocker"}


def test_a_compliant_message_has_no_blocker() -> None:
    assert _codes(_msg()) == set()


def test_missing_postal_address_blocks() -> None:
    assert _codes(_msg(), postal="") == {"no-postal-address"}
    assert _codes(_msg(html=GOOD_HTML.replace("1 Main St", ""))) == {"no-postal-address"}


def test_missing_sender_identity_blocks() -> None:
    assert _codes(_msg(), org="") == {"no-sender-identity"}
    assert "no-sender-identity" in _codes(_msg(html=GOOD_HTML.replace("Example Inc.,", "")))


def test_missing_unsubscribe_link_blocks() -> None:
    assert _codes(_msg(html=GOOD_HTML.replace(URL, "https://elsewhere"))) == {"no-unsubscribe-link"}
    assert _codes(_msg(text="News")) == {"no-unsubscribe-link"}


def test_missing_one_click_header_blocks() -> None:
    assert _codes(_msg(headers=HEADERS[:1])) == {"no-one-click-unsubscribe"}
    mailto_only = [("List-Unsubscribe", "<mailto:u@example.com>"), HEADERS[1]]
    assert _codes(_msg(headers=mailto_only)) == {"no-one-click-unsubscribe"}


def test_http_one_click_blocks_unless_allowed_for_local_tests() -> None:
    http = [("List-Unsubscribe", "<http://x/u/1>"), HEADERS[1]]
    assert _codes(_msg(headers=http)) == {"one-click-not-https"}
    allowed = check_message(
        _msg(headers=http), unsubscribe_url=URL, organization="Example Inc.", from_name="",
        postal_address="1 Main St", allow_http_one_click=True,
    )  # fmt: skip
    assert [(i.level, i.code) for i in allowed] == [("warning", "one-click-not-https")]


@pytest.mark.parametrize(
    "subject",
    [
        "Re: your order",
        "FWD: news",
        " fw: hi",
        "AW: Angebot",
        "RE : spaced",
        "Fw[2]: again",
        "[News] Re: tagged",
        "\U0001f525 Fwd: emoji first",
        "Re\uff1a full-width colon",
        "\uff32\uff45: full-width letters",
        "R\u0435: Cyrillic e",
        "TR: Offre",
        "Res: oferta",
        "SV: Tilbud",
        "Odp: oferta",
        "\u56de\u590d\uff1a\u4f60\u597d",
    ],
)
def test_deceptive_subjects_block(subject: str) -> None:
    codes = [i.code for i in check_subject(subject) if i.level == "blocker"]
    assert codes == ["deceptive-subject"], subject


@pytest.mark.parametrize(
    "subject",
    ["Our November news: what's new", "Reply to win", "Regarding: nothing", "News: re: this",
     "Fwding tips", "Ready? Go", "\u0420\u0415: reads PE, not RE"],
)  # fmt: skip
def test_honest_subjects_pass(subject: str) -> None:
    assert check_subject(subject) == []


def _signed(headers: str) -> bytes:
    return _msg().replace(b"From:", headers.encode() + b"\r\nFrom:", 1)


def test_the_signature_must_align_with_from_and_cover_the_one_click_headers() -> None:
    h = "from:to:subject:list-unsubscribe:list-unsubscribe-post"
    assert check_signature(_signed(f"DKIM-Signature: v=1; d=example.com; s=s1; h={h}; b=x")) == []
    # A subdomain's key aligns in relaxed mode (same organizational domain).
    assert check_signature(_signed(f"DKIM-Signature: v=1; d=mail.example.com; h={h}; b=x")) == []
    codes = [i.code for i in check_signature(_msg())]
    assert codes == ["not-dkim-signed"]
    other = check_signature(_signed(f"DKIM-Signature: v=1; d=esp.example.net; h={h}; b=x"))
    assert [i.code for i in other] == ["dkim-not-aligned"]
    assert "esp.example.net" in other[0].message
    partial = check_signature(_signed("DKIM-Signature: v=1; d=example.com; h=from:to; b=x"))
    assert [i.code for i in partial] == ["dkim-misses-one-click"]


def test_unauthenticated_from_domain_blocks() -> None:
    assert [i.code for i in check_authentication("example.com", False)] == [
        "from-domain-not-authenticated"
    ]
    assert check_authentication("example.com", True) == []


def test_frequency_cap_selects_subscribers_over_the_cap(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
        add_subscribers(
            conn, [NewSubscriber(f"p{i}@example.org") for i in range(4)], mailing_list=ml, now=now
        )
        ids = conn.execute(select(subscribers.c.id).order_by(subscribers.c.id)).scalars().all()
        camps = [
            create_campaign(conn, name="", subject="s", from_email="n@example.com", from_name="",
                            html_template="x", text_template=None, list_ids=[ml.id], now=now).id
            for _ in range(4)
        ]  # fmt: skip
        rows = [
            # p0: two delivered recently -> capped; p1: one recent + one old -> not capped;
            # p2: one delivered + one still queued -> capped; p3: nothing.
            (camps[0], ids[0], "delivered", now - timedelta(days=2)),
            (camps[1], ids[0], "delivered", now - timedelta(days=29)),
            (camps[0], ids[1], "delivered", now - timedelta(days=1)),
            (camps[1], ids[1], "delivered", now - timedelta(days=31)),
            (camps[0], ids[2], "delivered", now - timedelta(days=3)),
            (camps[1], ids[2], "queued", None),
            (camps[3], ids[3], "delivered", now),  # the campaign itself does not count
            (camps[2], ids[3], "bounced", now),
        ]
        for cid, sid, status, done in rows:
            conn.execute(
                insert(outbox).values(campaign_id=cid, subscriber_id=sid, email="x", domain="x",
                                      status=status, attempts=1, updated_at=now, done_at=done)
            )  # fmt: skip
        capped = set(
            conn.execute(frequency_capped(camps[3], (ml.id,), now=now, count=2, days=30))
            .scalars()
            .all()
        )
        assert capped == {ids[0], ids[2]}
        off = frequency_capped(camps[3], (ml.id,), now=now, count=0, days=30)
        assert conn.execute(off).scalars().all() == []
        conn.execute(update(outbox).values(status="delivered", done_at=now))
        three = frequency_capped(camps[3], (ml.id,), now=now, count=3, days=30)
        assert conn.execute(three).scalars().all() == []
