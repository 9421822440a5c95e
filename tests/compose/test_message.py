"""MIME assembly: parsed back by the standard library, headers exact, injection impossible."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from sendwell.compose.message import MessageParts, build_message
from sendwell.compose.verp import parse_verp, verp_address

DATE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _parts(**kw: object) -> MessageParts:
    base: dict[str, object] = dict(
        from_name="News Team",
        from_email="news@example.com",
        to_email="ann@example.org",
        subject="Hello Ann",
        html="<p>Hello <b>Ann</b></p>",
        text="Hello Ann\n",
        message_id="<1.2.abc@example.com>",
        date=DATE,
    )
    base.update(kw)
    return MessageParts(**base)  # type: ignore[arg-type]


def _parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def test_message_parses_back_with_exactly_one_of_each_header() -> None:
    data = build_message(_parts())
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    msg = _parse(data)
    for name in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
        assert len(msg.get_all(name) or []) == 1, name
    assert msg["From"] == "News Team <news@example.com>"
    assert msg["Subject"] == "Hello Ann"
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(("plain",)).get_content().strip() == "Hello Ann"  # type: ignore[union-attr]
    assert "<b>Ann</b>" in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert msg.defects == []


def test_non_ascii_headers_and_bodies() -> None:
    data = build_message(
        _parts(
            from_name="Jörg Ä", subject="Grüße, Zoë — 🎉" * 6, text="Grüße\n", html="<p>Grüße</p>"
        )
    )
    assert data.isascii()  # RFC 2047 headers, quoted-printable bodies
    msg = _parse(data)
    assert msg["Subject"] == "Grüße, Zoë — 🎉" * 6
    assert str(msg["From"]) == "Jörg Ä <news@example.com>"
    assert msg.get_body(("plain",)).get_content().strip() == "Grüße"  # type: ignore[union-attr]
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


@pytest.mark.parametrize(
    "evil", ["Hi\r\nBcc: victim@example.net", "Hi\nX-Evil: 1", "Hi\rBcc: a@b.c", "Hi\x00Bcc: a@b.c"]
)
def test_header_injection_is_impossible(evil: str) -> None:
    msg = _parse(build_message(_parts(subject=evil, from_name=evil)))
    assert msg.get_all("Bcc") is None and msg.get_all("X-Evil") is None
    assert len(msg.get_all("Subject") or []) == 1


def test_extra_headers_are_included() -> None:
    msg = _parse(build_message(_parts(extra_headers=[("Feedback-ID", "1:news:sendwell")])))
    assert msg["Feedback-ID"] == "1:news:sendwell"


def test_verp_round_trip_and_forgery() -> None:
    key = b"k" * 32
    address = verp_address(12345, "bounces.example.com", key)
    assert address.startswith("b-12345-") and address.endswith("@bounces.example.com")
    assert parse_verp(address, key) == 12345
    assert parse_verp(f"<{address.upper()}>", key) == 12345
    assert parse_verp(address.replace("b-12345-", "b-12346-"), key) is None
    assert parse_verp(address, b"other-key") is None
    assert parse_verp("someone@example.com", key) is None


def test_long_ascii_headers_fold_and_unfold_to_the_same_value() -> None:
    value = (
        "<https://news.example.com/u/"
        + "a" * 60
        + ">, <mailto:unsubscribe+"
        + "b" * 40
        + "@bounces.example.com?subject=unsubscribe>"
    )
    data = build_message(_parts(extra_headers=[("List-Unsubscribe", value)]))
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    block = head[head.index("List-Unsubscribe:") :].split("\r\nContent-Type")[0]
    assert "\r\n " in block  # folded
    assert all(len(line) <= 998 for line in block.split("\r\n"))
    assert _parse(data)["List-Unsubscribe"] == value
