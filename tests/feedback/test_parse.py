"""Parsing real-world bounces and complaints (the corpus) and identifying deliveries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sendwell.compose.reference import reference_token, unsubscribe_address
from sendwell.feedback.parse import parse_feedback
from tests.feedback.helpers import BOUNCE_DOMAIN, KEY, arf, dsn, verp

CORPUS = Path(__file__).with_name("corpus")

# file -> (kind, first recipient, classification, reason, status)
EXPECTED = {
    "flanker-aol-mailbox-full.eml": ("bounce", "user@aol.com", "soft", "mailbox_full", "5.2.2"),
    "flanker-delayed-no-mx.eml": ("bounce", "user@example.com", "delayed", "delayed", "4.4.4"),
    "flanker-gmail-invalid-address.eml": (
        "bounce",
        "awfawfawfawfawfaw@someserverhere.com",
        "hard",
        "address_rejected",
        "5.1.0",
    ),
    "flanker-office365-excerpt.eml": (
        "bounce",
        "noname@example.com",
        "hard",
        "mailbox_unknown",
        "5.1.10",
    ),
    "flanker-yahoo-complaint.eml": ("complaint", "user@yahoo.com", "unknown", "abuse", ""),
    "flufl-sendmail-02.eml": ("bounce", "foo@rbd.spb.ru", "hard", "mailbox_unknown", "5.1.1"),
    "qsbmf-qmail.eml": ("bounce", "god@heaven.af.mil", "hard", "bad_domain", ""),
    "rfc3464-c1-simple.eml": ("bounce", "louisl@larry.slip.umd.edu", "soft", "temporary", "4.0.0"),
    "rfc5965-b2-arf.eml": ("complaint", "user@example.com", "unknown", "abuse", ""),
    "postfix-local-unknown.eml": ("bounce", None, "hard", "mailbox_unknown", "5.1.1"),
}


def test_every_corpus_file_has_an_expectation_and_a_citation() -> None:
    files = {p.name for p in CORPUS.glob("*.eml")}
    assert files == set(EXPECTED)
    readme = (CORPUS / "README.md").read_text()
    for name in files:
        assert name in readme, f"{name} is not cited in corpus/README.md"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus(name: str) -> None:
    kind, address, classification, reason, status = EXPECTED[name]
    report = parse_feedback((CORPUS / name).read_bytes(), KEY)
    assert report.kind == kind
    first = report.recipients[0]
    if address is not None:
        assert first.address == address
    assert (first.classification, first.reason, first.status) == (classification, reason, status)
    # Nothing in the public corpus is signed with our key.
    assert report.outbox_id is None or name == "postfix-local-unknown.eml"


def test_json_contract_shape() -> None:
    report = parse_feedback((CORPUS / "flufl-sendmail-02.eml").read_bytes(), KEY)
    doc = json.loads(json.dumps(report.to_json()))
    assert set(doc) == {"kind", "recipients", "outbox_id"}
    assert set(doc["recipients"][0]) == {
        "address",
        "action",
        "status",
        "classification",
        "reason",
        "diagnostic",
    }


def test_verp_in_the_to_header_identifies_the_row() -> None:
    report = parse_feedback(dsn(verp(42), "x@example.net", "5.1.1", "550 5.1.1 unknown"), KEY)
    assert (report.outbox_id, report.id_source) == (42, "verp")


def test_envelope_recipient_wins_over_headers() -> None:
    raw = dsn(verp(42), "x@example.net", "5.1.1", "550 5.1.1 unknown")
    report = parse_feedback(raw, KEY, envelope_rcpt=verp(7))
    assert report.outbox_id == 7


def test_forged_verp_identifies_nothing() -> None:
    forged = f"b-42-0000000000@{BOUNCE_DOMAIN}"
    report = parse_feedback(dsn(forged, "x@example.net", "5.1.1", "550 unknown"), KEY)
    assert report.kind == "bounce"
    assert report.outbox_id is None
    other_key = parse_feedback(dsn(verp(42), "x@example.net", "5.1.1", "550"), b"other")
    assert other_key.outbox_id is None


def test_arf_with_redacted_recipient_is_identified_by_the_reference_header() -> None:
    raw = arf(f"X-Sendwell-Ref: {reference_token(99, KEY)}")
    report = parse_feedback(raw, KEY)
    assert (report.kind, report.outbox_id, report.id_source) == ("complaint", 99, "reference")
    assert report.recipients == ()


def test_arf_with_forged_reference_identifies_nothing() -> None:
    report = parse_feedback(arf("X-Sendwell-Ref: 99.0123456789abcdef"), KEY)
    assert report.kind == "complaint"
    assert report.outbox_id is None


def test_reply_to_the_unsubscribe_address() -> None:
    raw = (
        f"From: Ann <ann@example.net>\r\nTo: {unsubscribe_address(5, BOUNCE_DOMAIN, KEY)}\r\n"
        "Subject: unsubscribe\r\n\r\nplease\r\n"
    ).encode()
    report = parse_feedback(raw, KEY)
    assert (report.kind, report.outbox_id) == ("unsubscribe", 5)
    assert report.recipients[0].address == "ann@example.net"


@pytest.mark.parametrize(
    "headers",
    [
        "Subject: Out of Office: back Monday\r\n",
        "Subject: Automatic reply: Hello\r\nX-Auto-Response-Suppress: All\r\n",
        "Auto-Submitted: auto-replied\r\nSubject: Re: Hello\r\n",
        "X-Autoreply: yes\r\nSubject: Re: Hello\r\n",
    ],
)
def test_auto_replies_are_recognized(headers: str) -> None:
    raw = f"From: ann@example.net\r\nTo: {verp(3)}\r\n{headers}\r\nI am away.\r\n".encode()
    assert parse_feedback(raw, KEY).kind == "autoreply"


def test_a_human_reply_is_unknown() -> None:
    raw = f"From: ann@example.net\r\nTo: {verp(3)}\r\nSubject: Re: Hello\r\n\r\nThanks!\r\n"
    report = parse_feedback(raw.encode(), KEY)
    assert report.kind == "unknown"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=X\r\n\r\n--X\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; a@b.c\r\nAct",
        b"Content-Type: multipart/report; boundary=\r\n\r\n--\r\n--\r\n",
        b"Subject: =?utf-8?q?broken\r\nContent-Type: text/plain; charset=nonexistent\r\n\r\n\xff",
    ],
)
def test_malformed_and_truncated_input_never_raises(raw: bytes) -> None:
    report = parse_feedback(raw, KEY)
    assert report.kind in {"bounce", "unknown", "autoreply", "complaint"}


def test_truncated_dsn_still_yields_what_it_has() -> None:
    raw = dsn(verp(8), "x@example.net", "5.1.1", "550 5.1.1 unknown")
    cut = raw[: raw.index(b"Diagnostic-Code")]
    report = parse_feedback(cut, KEY)
    assert report.outbox_id == 8
    assert report.recipients[0].classification == "hard"


def test_a_50_mb_message_is_parsed_from_its_head_only() -> None:
    head = dsn(verp(9), "x@example.net", "5.2.2", "552 5.2.2 full")
    raw = head + b"X" * (50 * 1024 * 1024)
    report = parse_feedback(raw, KEY)
    assert report.outbox_id == 9
    assert report.recipients[0].classification == "soft"
    assert any("cut" in n for n in report.notes)
