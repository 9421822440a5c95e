"""Address normalization and the suppression hash."""

from __future__ import annotations

import pytest

from sendwell.audience.addresses import address_hash, normalize
from sendwell.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "email", "domain"),
    [
        ("  Ann.Smith@Gmail.COM ", "ann.smith@gmail.com", "gmail.com"),
        ("jörg@bücher.de", "jörg@xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("reader1@gmail.sandbox", "reader1@gmail.sandbox", "gmail.sandbox"),
    ],
)
def test_normalize(raw: str, email: str, domain: str) -> None:
    addr = normalize(raw)
    assert (addr.email, addr.domain) == (email, domain)
    assert addr.hash == address_hash(email)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "no-at-sign",
        "a@b",
        "a@@b.com",
        "a@b.com\r\nBcc: x@y.com",
        "a\x00@b.com",
        "a@b.invalid",
        "x" * 300 + "@b.com",
    ],
)
def test_invalid_addresses_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize(raw)
    assert str(info.value)


def test_spellings_of_one_address_share_one_hash() -> None:
    assert normalize("ANN@Example.com").hash == normalize("ann@example.COM ").hash
