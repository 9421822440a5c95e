"""Formula injection: cells that spreadsheets would run are neutralized."""

from __future__ import annotations

import csv
import io

import pytest

from sendwell.audience.csvsafe import SafeWriter, neutralize


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("ann@example.com", "ann@example.com"),
        (None, ""),
        (42, "42"),
    ],
)
def test_neutralize(value: object, expected: str) -> None:
    assert neutralize(value) == expected


def test_safe_writer_round_trips_as_text() -> None:
    buf = io.StringIO()
    SafeWriter(buf).writerow(["=1+1", "plain", 'quote"d'])
    assert next(csv.reader(io.StringIO(buf.getvalue()))) == ["'=1+1", "plain", 'quote"d']
