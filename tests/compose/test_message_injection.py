"""Header injection corpus: line breaks of every kind in every field that reaches a header.

Each (field, payload) pair goes through the workers' real builder (templates, bulk
headers, DKIM) and the finished bytes are judged as a receiving MTA would: no header but
ours, no bare CR or LF, no NUL, no control characters in the header block, one MIME
structure, and a DKIM signature that still verifies. The injected text may survive as
harmless characters inside the field it was put in — never as a header of its own.

Fields: the From display name, the subject template, subscriber first and last names and
an attribute used in the subject, the sender organization used in the subject, the list
name, the Feedback-ID sender id and the public URL (List-Unsubscribe). sendwell sets no
Reply-To (checked: none appears). Addresses (From, To) are validated when stored: a
line break in one is refused there.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from typing import Any

import dkim
import pytest
from sqlalchemy import Engine

from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.builder import Person
from sendwell.campaigns.sender import SenderDefaults
from sendwell.campaigns.service import create_campaign
from sendwell.clock import FrozenClock
from sendwell.compose.dkim import dns_txt_value
from sendwell.domains.store import get_domain
from sendwell.errors import InvalidInput
from tests.content.samples import FOOTER, KEY, SENDER, build_sample

VICTIM = "victim@evil.example"
PAYLOADS = {
    "crlf": f"\r\nBcc: {VICTIM}",
    "lf": f"\nBcc: {VICTIM}",
    "cr": f"\rBcc: {VICTIM}",
    "nul": f"\x00Bcc: {VICTIM}",
    "crlf-crlf-body": "\r\n\r\n<script>alert(1)</script>",
    "crlf-fold": f"\r\n Bcc: {VICTIM}",
    "vt": f"\x0bBcc: {VICTIM}",
    "ff": f"\x0cBcc: {VICTIM}",
    "nel": f"\x85Bcc: {VICTIM}",
    "line-separator": f"\u2028Bcc: {VICTIM}",
    "paragraph-separator": f"\u2029Bcc: {VICTIM}",
    "non-ascii-crlf": f"Jörg\r\nBcc: {VICTIM}",
    "encoded-word": "=?utf-8?q?=0D=0ABcc:_victim@evil.example?=",
    "del-and-c1": f"\x7f\x9bBcc: {VICTIM}",
}
EXPECTED_HEADERS = {
    "from", "to", "subject", "date", "message-id", "mime-version", "list-unsubscribe",
    "list-unsubscribe-post", "feedback-id", "x-sendwell-ref", "content-type", "dkim-signature",
}  # fmt: skip
HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]*: ")
HTML = "<p>Hello, here is our news.</p>" + FOOTER
PERSON = Person("ann@example.org", "Ann", "Reader", {"city": "Oslo"})

Build = Callable[[Engine, FrozenClock, str], bytes]


def _field(name: str) -> Build:
    def build(engine: Engine, clock: FrozenClock, payload: str) -> bytes:
        kw: dict[str, Any] = {"subject": "News", "html": HTML}
        if name == "from_name":
            kw["from_name"] = f"Example{payload}"
        elif name == "subject":
            kw["subject"] = f"News{payload}"
        elif name in ("first_name", "last_name"):
            kw["subject"] = f"Hi {{{{ subscriber.{name} }}}}"
            values = {"first_name": "Ann", "last_name": "Reader", name: f"X{payload}"}
            kw["person"] = Person("ann@example.org", values["first_name"],
                                  values["last_name"], {})  # fmt: skip
        elif name == "attribute":
            kw["subject"] = "News for {{ subscriber.city }}"
            kw["person"] = Person("ann@example.org", "Ann", None, {"city": f"Oslo{payload}"})
        elif name == "organization":
            kw["subject"] = "News from {{ sender.organization }}"
            kw["sender"] = SenderDefaults(f"Example Gardens{payload}", SENDER.postal_address)
        elif name == "list_name":
            kw["list_name"] = f"Garden news{payload}"
        elif name == "feedback_sender":
            kw["feedback_sender"] = f"sendwell{payload}"
        elif name == "public_url":
            kw["public_url"] = f"https://news.example.com/{payload}x"
        return build_sample(engine, clock, person=kw.pop("person", PERSON), **kw)

    return build


FIELDS = ["from_name", "subject", "first_name", "last_name", "attribute", "organization",
          "list_name", "feedback_sender", "public_url"]  # fmt: skip


def _verify_dkim(engine: Engine, data: bytes) -> bool:
    with engine.connect() as conn:
        txt = dns_txt_value(get_domain(conn, "example.com").private_pem(KEY)).encode()
    return bool(dkim.verify(data, dnsfunc=lambda name, timeout=5: txt))


def assert_no_injection(data: bytes) -> email.message.EmailMessage:
    assert b"\x00" not in data
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", data) is None, "bare CR or LF"
    head, sep, _ = data.partition(b"\r\n\r\n")
    assert sep
    names = []
    for line in head.split(b"\r\n"):
        assert all(32 <= b < 127 or b == 9 for b in line), line  # printable ASCII only
        if line[:1] in (b" ", b"\t"):
            continue  # a folded continuation of the header above
        assert HEADER_LINE.match(line), line
        names.append(line.split(b":", 1)[0].decode().lower())
    assert set(names) <= EXPECTED_HEADERS, set(names) - EXPECTED_HEADERS
    assert all(names.count(n) == 1 for n in names if n != "dkim-signature")
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg["Bcc"] is None and msg["Reply-To"] is None
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    return msg  # type: ignore[return-value]


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("field", FIELDS)
def test_no_field_can_inject_a_header(
    field: str, payload: str, sqlite_engine: Engine, clock: FrozenClock
) -> None:
    data = _field(field)(sqlite_engine, clock, PAYLOADS[payload])
    msg = assert_no_injection(data)
    assert _verify_dkim(sqlite_engine, data)
    if field in ("subject", "first_name", "attribute", "organization"):
        subject = str(msg["Subject"])
        assert "\r" not in subject and "\n" not in subject
        if "Bcc" in PAYLOADS[payload]:
            assert f"Bcc: {VICTIM}" in subject or "Bcc:_victim" in subject  # kept as text


def test_addresses_with_line_breaks_are_refused_when_stored(
    sqlite_engine: Engine, clock: FrozenClock
) -> None:
    now = clock.now()
    with sqlite_engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
        for payload in PAYLOADS.values():
            with pytest.raises(InvalidInput):
                add_subscribers(conn, [NewSubscriber(f"ann@example.org{payload}")],
                                mailing_list=ml, now=now)  # fmt: skip
            with pytest.raises(InvalidInput):
                create_campaign(
                    conn, name="", subject="S", from_email=f"news@example.com{payload}",
                    from_name="", html_template=HTML, text_template=None, list_ids=[ml.id],
                    now=now,
                )  # fmt: skip
