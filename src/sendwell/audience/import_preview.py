"""A first look at an import file: its columns, a few rows, and where each column goes.

The admin UI shows this between the upload and the import so the person importing can
map columns (``email``, ``first_name``, ``attr:Plan``, ``ignore``, ...) before anything is
written. CSV columns come from the header row; JSON Lines "columns" are the keys of the
first :data:`SAMPLE_ROWS` objects, in order of first appearance.

Limits: only the start of the file is read (at most :data:`MAX_PREVIEW_BYTES`), so a
problem further down (a bad byte on line 90,000) surfaces when the import runs, in its
error file or as its failure message. Header checks are those of ``import_source``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from sendwell.audience.import_source import FIELDS, Format, guess_target
from sendwell.errors import InvalidInput

SAMPLE_ROWS = 5
MAX_PREVIEW_BYTES = 256 * 1024
MAX_COLUMNS = 200
TARGETS = (*FIELDS, "attribute", "ignore")


@dataclass(frozen=True)
class Column:
    """One column of the file and where it goes unless the person maps it elsewhere."""

    name: str
    guess: str  # a field name, "attr:NAME" or "ignore"
    samples: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    fmt: Format
    columns: tuple[Column, ...]
    sample_rows: int

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _head_text(path: Path, encoding: str) -> str:
    """The decoded start of the file, cut at the last whole line."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)("replace")
    except LookupError:
        raise InvalidInput(f"unknown encoding {encoding!r}") from None
    with path.open("rb") as fh:
        raw = fh.read(MAX_PREVIEW_BYTES)
    text = decoder.decode(raw, final=len(raw) < MAX_PREVIEW_BYTES)
    if len(raw) == MAX_PREVIEW_BYTES and "\n" in text:
        text = text[: text.rindex("\n") + 1]
    return text.removeprefix("\ufeff")


def _csv_preview(text: str, name: str) -> Preview:
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(rows)]
    except StopIteration:
        raise InvalidInput(f"{name} is empty") from None
    except csv.Error as exc:
        raise InvalidInput(f"{name}: unreadable header: {exc}") from None
    if len(header) > MAX_COLUMNS:
        raise InvalidInput(f"{name} has {len(header)} columns; at most {MAX_COLUMNS} are read")
    samples: list[list[str]] = []
    try:
        for row in rows:
            if row:
                samples.append(row)
            if len(samples) >= SAMPLE_ROWS:
                break
    except csv.Error:
        pass  # a damaged row further on is reported per row by the import itself
    columns = tuple(
        Column(h, guess_target(h), tuple(r[i][:200] if i < len(r) else "" for r in samples))
        for i, h in enumerate(header)
    )
    return Preview("csv", columns, len(samples))


def _jsonl_preview(text: str) -> Preview:
    keys: dict[str, list[str]] = {}
    objects = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue  # reported per line by the import
        if not isinstance(obj, dict):
            continue
        objects += 1
        for key, value in obj.items():
            if len(keys) < MAX_COLUMNS or key in keys:
                keys.setdefault(str(key), []).append("" if value is None else str(value)[:200])
        if objects >= SAMPLE_ROWS:
            break
    columns = tuple(Column(k, guess_target(k), tuple(v)) for k, v in keys.items())
    return Preview("jsonl", columns, objects)


def preview(path: Path, *, fmt: Format, encoding: str = "utf-8") -> Preview:
    """Columns, guesses and sample values of the start of ``path``."""
    enc = (
        "utf-8"
        if encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig")
        else encoding
    )
    text = _head_text(path, enc)
    result = _csv_preview(text, path.name) if fmt == "csv" else _jsonl_preview(text)
    if not result.columns:
        raise InvalidInput(f"{path.name}: no columns found (is it a {fmt.upper()} file?)")
    return result


def mapping_from_choices(preview: Preview, choices: list[str]) -> dict[str, str]:
    """The import mapping from one choice per column (``TARGETS``), refusing bad input.

    ``attribute`` keeps the column's own name as the attribute name. Only choices that
    differ from the guess are returned, so the import's own header rules still apply.
    """
    if len(choices) != len(preview.columns):
        raise InvalidInput(f"expected {len(preview.columns)} column choices, got {len(choices)}")
    mapping: dict[str, str] = {}
    for column, choice in zip(preview.columns, choices, strict=True):
        if choice not in TARGETS:
            raise InvalidInput(f"column {column.name!r}: unknown choice {choice!r}")
        target = f"attr:{column.name}" if choice == "attribute" else choice
        if target != column.guess:
            mapping[column.name] = target
    targets = [mapping.get(c.name, c.guess) for c in preview.columns]
    if targets.count("email") != 1:
        raise InvalidInput("map exactly one column to email")
    return mapping
