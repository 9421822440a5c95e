"""The syntax layer: RFC 5321/5322/6531 syntax, normalization and hostile input."""

from __future__ import annotations

import string
import time

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from sendwell.audience.addresses import normalize
from sendwell.verify.records import Reason
from sendwell.verify.syntax import parse_address

CYRILLIC_PAYPAL = "\u0440\u0430\u0443\u0440\u0430l.com"  # "paypal" with Cyrillic er, a and u


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Ann.Lee@Example.COM", "ann.lee@example.com"),
        ("  bob+news@example.org\t", "bob+news@example.org"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("ann@bücher.de", "ann@xn--bcher-kva.de"),
        ("ANN@XN--BCHER-KVA.DE", "ann@xn--bcher-kva.de"),
        ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
        ("josé@example.com", "josé@example.com"),
    ],
)
def test_valid_addresses_are_normalized_like_the_audience(raw: str, normalized: str) -> None:
    parsed = parse_address(raw)
    assert parsed.normalized == normalized
    assert parsed.address == raw  # the input is never rewritten
    assert normalize(raw).email == normalized


def test_internationalized_local_part_is_flagged_smtputf8() -> None:
    assert [f.code for f in parse_address("用户@例子.广告").findings] == [Reason.SMTPUTF8]
    assert parse_address("ann@bücher.de").findings == ()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", Reason.EMPTY),
        ("   ", Reason.EMPTY),
        ("ann@example.com\r\nBcc: victim@example.com", Reason.CONTROL_CHARS),
        ("ann\n@example.com", Reason.CONTROL_CHARS),
        ("ann\x00@example.com", Reason.CONTROL_CHARS),
        ("ann@exa\x7fmple.com", Reason.CONTROL_CHARS),
        ("\u202eann@example.com", Reason.BIDI_CONTROL),
        ("ann@exam\u2067ple.com", Reason.BIDI_CONTROL),
        ("a" * 10_000 + "@example.com", Reason.TOO_LONG),
        ("a" * 65 + "@example.com", Reason.TOO_LONG),
        ("ann@" + "a" * 250 + ".com", Reason.TOO_LONG),
        ("plainaddress", Reason.SYNTAX),
        ("ann@@example.com", Reason.SYNTAX),
        ("ann..lee@example.com", Reason.SYNTAX),
        (".ann@example.com", Reason.SYNTAX),
        ("ann@example", Reason.SYNTAX),
        ("ann@-example.com", Reason.SYNTAX),
        ("ann@example..com", Reason.SYNTAX),
        ("ann@localhost", Reason.SYNTAX),
        ("ann@printer.local", Reason.SYNTAX),
        ("ann@[192.0.2.1]", Reason.SYNTAX),
        ("ann lee@example.com", Reason.SYNTAX),
    ],
)
def test_invalid_input_gets_one_reason_and_no_normalized_form(raw: str, code: Reason) -> None:
    parsed = parse_address(raw)
    assert parsed.normalized is None
    assert [f.code for f in parsed.findings] == [code]
    assert parsed.findings[0].detail


def test_homoglyph_domains_are_flagged() -> None:
    whole = parse_address(f"ann@{CYRILLIC_PAYPAL}")
    assert whole.ok
    assert Reason.HOMOGLYPH_DOMAIN in [f.code for f in whole.findings]
    mixed = parse_address("ann@p\u0430ypal.com")  # one Cyrillic a among Latin letters
    assert Reason.HOMOGLYPH_DOMAIN in [f.code for f in mixed.findings]
    # A genuinely Cyrillic domain is not a look-alike.
    assert parse_address("ann@пример.рф").findings == ()


def test_hostile_input_is_rejected_quickly() -> None:
    started = time.perf_counter()
    for _ in range(100):
        parse_address("a" * 1_000_000 + "@example.com")
        parse_address("a@" + "b." * 500_000 + "com")
    assert time.perf_counter() - started < 2


ATOM = string.ascii_letters + string.digits + "._%+-"


@settings(max_examples=400, deadline=None)
@given(
    local=st.text(alphabet=ATOM + "!#'@\"", min_size=0, max_size=70),
    domain=st.text(alphabet=string.ascii_letters + string.digits + ".-", min_size=0, max_size=40),
)
def test_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    raw = f"{local}@{domain}"
    parsed = parse_address(raw)
    try:
        info = validate_email(raw, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        assert parsed.normalized is None, raw
    else:
        assert parsed.normalized == f"{info.local_part.lower()}@{info.ascii_domain.lower()}"
