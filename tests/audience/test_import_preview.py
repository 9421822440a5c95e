"""The first look at an import file: columns, guesses, samples, and mapping choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendwell.audience.import_preview import (
    MAX_PREVIEW_BYTES,
    mapping_from_choices,
    preview,
)
from sendwell.errors import InvalidInput


def write(tmp_path: Path, text: str | bytes, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_csv_columns_are_guessed_like_the_import_does(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\ufeffE-Mail, First Name,Plan,consent_ip\n"
        'ann@example.com,Ann,pro,192.0.2.1\n"bob@example.com","Bob, Jr.",free\n',
    )
    p = preview(path, fmt="csv")
    assert [(c.name, c.guess) for c in p.columns] == [
        ("E-Mail", "email"), ("First Name", "first_name"), ("Plan", "attr:Plan"),
        ("consent_ip", "consent_ip"),
    ]  # fmt: skip
    assert p.columns[1].samples == ("Ann", "Bob, Jr.")
    assert p.columns[3].samples == ("192.0.2.1", "")  # a short row
    assert p.sample_rows == 2


def test_json_lines_keys_in_order_of_appearance(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"email": "a@example.com", "city": "Oslo"}\nnot json\n[1]\n'
        '{"email": "b@x.org", "vip": true}\n',
        "people.jsonl",
    )
    p = preview(path, fmt="jsonl")
    assert [(c.name, c.guess, c.samples) for c in p.columns] == [
        ("email", "email", ("a@example.com", "b@x.org")),
        ("city", "attr:city", ("Oslo",)),
        ("vip", "attr:vip", ("True",)),
    ]


def test_other_encodings_and_long_files(tmp_path: Path) -> None:
    latin = write(tmp_path, "email,Stadt\nann@example.com,Zürich\n".encode("cp1252"))
    assert preview(latin, fmt="csv", encoding="cp1252").columns[1].samples == ("Zürich",)
    # Read as UTF-8 by mistake: shown with replacement characters, not a crash.
    assert "\ufffd" in preview(latin, fmt="csv").columns[1].samples[0]
    long = write(tmp_path, "email,n\n" + "x@example.com,1\n" * (MAX_PREVIEW_BYTES // 10), "l.csv")
    assert preview(long, fmt="csv").sample_rows == 5


@pytest.mark.parametrize(
    ("text", "fmt", "encoding", "message"),
    [
        ("", "csv", "utf-8", "empty"),
        ("email\n", "csv", "klingon", "unknown encoding"),
        ('"unterminated\n', "jsonl", "utf-8", "no columns"),
        ("," * 300 + "\n", "csv", "utf-8", "columns"),
    ],
)
def test_unreadable_starts_are_refused(
    tmp_path: Path, text: str, fmt: str, encoding: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        preview(write(tmp_path, text), fmt=fmt, encoding=encoding)  # type: ignore[arg-type]


def test_choices_become_a_mapping_of_the_changes_only(tmp_path: Path) -> None:
    p = preview(write(tmp_path, "Adresse,Name,Plan,Notes\na@example.com,A,pro,x\n"), fmt="csv")
    assert [c.guess for c in p.columns] == ["attr:Adresse", "attr:Name", "attr:Plan", "attr:Notes"]
    mapping = mapping_from_choices(p, ["email", "first_name", "attribute", "ignore"])
    assert mapping == {"Adresse": "email", "Name": "first_name", "Notes": "ignore"}
    with pytest.raises(InvalidInput, match="exactly one column to email"):
        mapping_from_choices(p, ["attribute", "first_name", "attribute", "ignore"])
    with pytest.raises(InvalidInput, match="exactly one column to email"):
        mapping_from_choices(p, ["email", "email", "attribute", "ignore"])
    with pytest.raises(InvalidInput, match="unknown choice"):
        mapping_from_choices(p, ["email", "attr:x", "attribute", "ignore"])
    with pytest.raises(InvalidInput, match="expected 4"):
        mapping_from_choices(p, ["email"])
