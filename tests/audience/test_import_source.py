"""Reading import files: how CSV columns map to fields and attributes, row by row."""

from __future__ import annotations

from pathlib import Path

from sendwell.audience.import_source import MAX_FIELD, read_rows


def test_csv_rows_map_columns_and_report_bad_rows(tmp_path: Path) -> None:
    src = tmp_path / "p.csv"
    big = "x" * (MAX_FIELD + 1)
    src.write_text(
        "Email,First Name,Plan,Notes\n"
        "ann@example.com,Ann,pro,\n"  # an empty attribute is left out
        "bob@example.com\n"  # a short row: only the columns present
        f"cy@example.com,Cy,{big},\n"
        "dee@example.com,Dee,free,note,extra\n",
        encoding="utf-8",
    )
    rows = list(read_rows(src, fmt="csv", mapping={"Notes": "attr:notes"}))
    assert [(r.line, r.fields, r.attributes, r.error) for r in rows[:2]] == [
        (2, {"email": "ann@example.com", "first_name": "Ann"}, {"Plan": "pro"}, None),
        (3, {"email": "bob@example.com"}, {}, None),
    ]
    assert rows[2].error == f"field 3 is {MAX_FIELD + 1} characters, over {MAX_FIELD}"
    assert rows[2].raw[2] == "x" * 200  # the error file gets a shortened copy
    assert rows[3].error == "5 fields, the header has 4"
