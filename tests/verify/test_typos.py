"""Typo suggestions for provider domains and TLDs."""

from __future__ import annotations

import pytest

from sendwell.verify.typos import osa_distance, suggest_domain


@pytest.mark.parametrize(
    ("domain", "suggestion"),
    [
        ("gmial.com", "gmail.com"),
        ("gmaill.com", "gmail.com"),
        ("hotmial.com", "hotmail.com"),
        ("hotmail.con", "hotmail.com"),
        ("yahooo.com", "yahoo.com"),
        ("yaho.com", "yahoo.com"),
        ("outlok.com", "outlook.com"),
        ("iclould.com", "icloud.com"),
        ("gmail.co", "gmail.com"),
        ("example.con", "example.com"),
        ("example.cmo", "example.com"),
        ("example.nte", "example.net"),
        ("example.ogr", "example.org"),
        ("hotmail.co.uk", None),
        ("gmail.com", None),
        ("yahoo.de", None),  # a real Yahoo domain, not a misspelt yahoo.fr
        ("email.com", None),  # a real provider one edit away from gmail.com
        ("ao.com", None),  # too short to call a typo of aol.com
        ("example.com", None),
        ("example.co", None),
        ("my-company.io", None),
    ],
)
def test_suggestions(domain: str, suggestion: str | None) -> None:
    assert suggest_domain(domain) == suggestion


def test_osa_distance_counts_transpositions_as_one() -> None:
    assert osa_distance("gmial", "gmail") == 1
    assert osa_distance("kitten", "sitting") == 3
    assert osa_distance("abc", "abcdefgh", limit=3) == 3
    assert osa_distance("same", "same") == 0
