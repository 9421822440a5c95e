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
from sendwell.verify.syntax import parse_address, plain_address

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


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("Ann.Lee+news@Example.COM", ("ann.lee+news@example.com", "example.com")),
        (" \tbob_1%x@mail.example-shop.co.uk\t", ("bob_1%x@mail.example-shop.co.uk", None)),
        ("a" * 64 + "@example.com", ("a" * 64 + "@example.com", "example.com")),
        ("a" * 65 + "@example.com", None),  # local part over 64
        ("a@" + ("b" * 60 + ".") * 4 + "com", ("a@" + ("b" * 60 + ".") * 4 + "com", None)),
        ("a@" + ("b" * 60 + ".") * 5 + "com", None),  # over 254 characters
        ("ann@xn--bcher-kva.de", None),  # an A-label: decoded and checked by the library
        ("ann@bücher.de", None),
        ("ann@example.local", None),  # special-use domain
        ("o'brien@example.ie", None),  # valid, but not on the fast path
        ("ann@@example.com", None),
        ("ann@example.com\n", None),
        ("", None),
    ],
)
def test_plain_address_takes_plain_addresses_only(
    raw: str, plain: tuple[str, str | None] | None
) -> None:
    got = plain_address(raw)
    if plain is None:
        assert got is None
    else:
        assert got is not None and got[0] == plain[0]
        assert got[1] == (plain[1] or plain[0].rpartition("@")[2])


_LABEL = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=0, max_size=64)
_NEAR_PLAIN = st.builds(
    "{}{}@{}.{}{}".format,
    st.sampled_from(["", " ", "\t"]),
    st.lists(st.text(alphabet=ATOM, min_size=0, max_size=22), min_size=1, max_size=4).map(".".join),
    st.lists(_LABEL, min_size=1, max_size=4).map(".".join),
    st.sampled_from(["com", "ORG", "de", "x1", "c-m", "local", "test", "invalid", "museum"]),
    st.sampled_from(["", " ", "\t", "\n"]),
)
_ANY_ADDRESS = st.one_of(
    _NEAR_PLAIN,
    st.builds(
        "{}{}@{}{}".format,
        st.sampled_from(["", " ", "\t", " \t "]),
        st.text(alphabet=ATOM + "!#'@\"é\x00", min_size=0, max_size=70),
        st.text(alphabet=string.ascii_letters + string.digits + ".-ü", min_size=0, max_size=70),
        st.sampled_from(["", " ", "\t", "\n", "\u202e"]),
    ),
    st.text(max_size=300),
)


@settings(max_examples=1000, deadline=None)
@given(raw=_ANY_ADDRESS)
def test_plain_address_agrees_with_parse_address_and_email_validator(raw: str) -> None:
    plain = plain_address(raw)
    if plain is None:
        return  # "not plain": parse_address decides, with its reason
    parsed = parse_address(raw)
    assert plain == (parsed.normalized, parsed.domain) and parsed.findings == ()
    info = validate_email(raw.strip(" \t"), check_deliverability=False, allow_smtputf8=True)
    assert plain[0] == f"{info.local_part.lower()}@{info.ascii_domain.lower()}"
    assert plain == (normalize(raw).email, normalize(raw).domain)
