"""Reading import files: CSV or JSON Lines, streamed, mapped to subscriber fields.

One record at a time is held in memory, whatever the file size. Bad input is refused
before anything is written, with a message naming the problem and where it is:

* the encoding is checked by one streaming pass first (a file that is not valid UTF-8, or
  the ``encoding`` given, names the line of the first bad byte); a UTF-8 BOM is dropped;
* CSV: duplicate headers (case-insensitive) and a header without an email column are
  refused; mixed line endings and quoted newlines are handled by the ``csv`` module; a
  record's line number is the physical line it starts on;
* a row with more fields than the header, a field over :data:`MAX_FIELD` characters, or
  (JSON Lines) a line that is not a JSON object is a row error, reported, not fatal.

Mapping: ``email``, ``first_name``, ``last_name``, ``consent_source``, ``consent_ip``,
``consent_at`` are recognised by header name (``e-mail``/``email address`` too); every
other column becomes an attribute of the same name. ``mapping`` overrides per column:
``{"E-Mail Adresse": "email", "Plan": "attr:plan", "Notes": "ignore"}``.

Limit: CSV dialect is comma-separated with double quotes (RFC 4180); other delimiters
are not sniffed.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sendwell.errors import InvalidInput

MAX_FIELD = 64 * 1024
FIELDS = ("email", "first_name", "last_name", "consent_source", "consent_ip", "consent_at")
_ALIASES = {"e-mail": "email", "email address": "email", "email_address": "email", "mail": "email"}
Format = Literal["csv", "jsonl"]


# Not frozen: a frozen dataclass costs four times as much to build (~1 us against
# 0.2 us), and an import builds one per row; nothing keeps a row after reading it.
@dataclass(slots=True)
class SourceRow:
    """One record: its line, mapped fields, attributes, or why it cannot be read."""

    line: int
    fields: dict[str, str]
    attributes: dict[str, Any] = field(default_factory=dict)
    raw: list[str] = field(default_factory=list)
    error: str | None = None


class _Counting(io.RawIOBase):
    """A raw reader that counts bytes consumed (for the progress bar)."""

    def __init__(self, fh: io.BufferedReader, on_bytes: Callable[[int], None] | None) -> None:
        self._fh = fh
        self._on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._fh.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        n = self._fh.readinto(buffer)
        if self._on_bytes is not None and n:
            self._on_bytes(n)
        return n


def detect_format(path: Path, given: str | None) -> Format:
    if given in ("csv", "jsonl"):
        return given  # type: ignore[return-value]
    if given:
        raise InvalidInput(f"format must be csv or jsonl, not {given!r}")
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"


def check_encoding(path: Path, encoding: str) -> None:
    """Decode the whole file in chunks; InvalidInput naming the line of the first bad byte."""
    shown = "UTF-8" if encoding == "utf-8-sig" else encoding
    try:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
    except LookupError:
        raise InvalidInput(f"unknown encoding {encoding!r}") from None
    lines = 1
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line = lines + chunk.count(b"\n", 0, exc.start)
                raise InvalidInput(
                    f"{path.name}: not valid {shown} text at line {line} "
                    f"(byte {exc.object[exc.start : exc.start + 1]!r}); save it as UTF-8 "
                    "or pass the file's encoding (e.g. --encoding cp1252)"
                ) from None
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InvalidInput(f"{path.name}: ends in the middle of a character") from None


def _target(name: str, mapping: dict[str, str]) -> str:
    """Where a column goes: a field name, 'attr:NAME' or 'ignore'."""
    if name in mapping:
        target = mapping[name]
        if target not in FIELDS and target != "ignore" and not target.startswith("attr:"):
            raise InvalidInput(
                f"column {name!r} maps to {target!r}; use one of {', '.join(FIELDS)}, "
                "attr:NAME or ignore"
            )
        return target
    key = name.strip().lower()
    key = _ALIASES.get(key, key.replace(" ", "_"))
    return key if key in FIELDS else f"attr:{name.strip()}"


def guess_target(column: str) -> str:
    """Where a column goes when no mapping names it (``email``, ``attr:City``, ...)."""
    return _target(column, {})


def _open_text(
    path: Path, encoding: str, on_bytes: Callable[[int], None] | None
) -> io.TextIOWrapper:
    raw = io.BufferedReader(_Counting(path.open("rb"), on_bytes), buffer_size=1 << 20)
    # utf-8-sig drops a BOM; plain utf-8 would make it part of the first header.
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    return io.TextIOWrapper(raw, encoding=enc, newline="")


def read_rows(
    path: Path,
    *,
    fmt: Format,
    encoding: str = "utf-8",
    mapping: dict[str, str] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Generator[SourceRow, None, None]:
    """Stream the file's records; header problems raise InvalidInput before the first row."""
    check_encoding(path, "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    if fmt == "csv":
        return _csv_rows(path, encoding, mapping or {}, on_bytes)
    return _jsonl_rows(path, encoding, mapping or {}, on_bytes)


def _csv_rows(
    path: Path, encoding: str, mapping: dict[str, str], on_bytes: Callable[[int], None] | None
) -> Generator[SourceRow, None, None]:
    # The csv module's own limit (128 KiB) would abort the whole import on one big field;
    # raise it and reject oversized fields per row instead.
    csv.field_size_limit(64 * 1024 * 1024)
    fh = _open_text(path, encoding, on_bytes)
    reader = csv.reader(fh)
    try:
        header = next(reader)
    except StopIteration:
        fh.close()
        raise InvalidInput(f"{path.name} is empty") from None
    except csv.Error as exc:
        fh.close()
        raise InvalidInput(f"{path.name}: unreadable header: {exc}") from None
    names = [h.strip() for h in header]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name.lower() in seen:
            fh.close()
            raise InvalidInput(
                f"{path.name}: duplicate column {name!r} (columns {seen[name.lower()] + 1} "
                f"and {i + 1}); rename one or drop it"
            )
        seen[name.lower()] = i
    targets = [_target(n, mapping) for n in names]
    if "email" not in targets:
        fh.close()
        raise InvalidInput(
            f"{path.name}: no email column in the header {names!r}; name one 'email' or map "
            "it with --map 'COLUMN=email'"
        )
    if targets.count("email") > 1:
        fh.close()
        raise InvalidInput(f"{path.name}: more than one column maps to email")
    return _csv_records(fh, reader, targets)


def _csv_records(
    fh: io.TextIOWrapper, reader: Any, targets: list[str]
) -> Generator[SourceRow, None, None]:
    width = len(targets)
    # Where each column goes, worked out once: per row only dict comprehensions remain.
    field_columns = [(i, t) for i, t in enumerate(targets) if t in FIELDS]
    attr_columns = [(i, t[5:]) for i, t in enumerate(targets) if t.startswith("attr:")]
    with fh:
        start = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield SourceRow(start, {}, error=f"unreadable CSV: {exc}")
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            n = len(values)
            if not n:
                continue  # a blank line
            if n > width:
                yield SourceRow(line, {}, raw=values, error=f"{n} fields, the header has {width}")
                continue
            if max(map(len, values)) > MAX_FIELD:
                i, value = next((i, v) for i, v in enumerate(values) if len(v) > MAX_FIELD)
                error = f"field {i + 1} is {len(value)} characters, over {MAX_FIELD}"
                yield SourceRow(line, {}, raw=[v[:200] for v in values], error=error)
                continue
            if n == width:
                fields = {t: values[i] for i, t in field_columns}
                attrs = {name: v for i, name in attr_columns if (v := values[i]) != ""}
            else:  # a short row: the missing trailing columns are absent
                fields = {t: values[i] for i, t in field_columns if i < n}
                attrs = {name: v for i, name in attr_columns if i < n and (v := values[i]) != ""}
            yield SourceRow(line, fields, attrs, values)


def _jsonl_rows(
    path: Path, encoding: str, mapping: dict[str, str], on_bytes: Callable[[int], None] | None
) -> Generator[SourceRow, None, None]:
    fh = _open_text(path, encoding, on_bytes)
    with fh:
        for line_no, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            if len(text) > MAX_FIELD * 4:
                yield SourceRow(line_no, {}, error=f"line is {len(text)} characters, too long")
                continue
            try:
                obj = json.loads(text)
            except ValueError as exc:
                yield SourceRow(line_no, {}, raw=[text[:200]], error=f"not JSON: {exc}")
                continue
            if not isinstance(obj, dict):
                yield SourceRow(line_no, {}, raw=[text[:200]], error="not a JSON object")
                continue
            fields: dict[str, str] = {}
            attrs: dict[str, Any] = {}
            for key, value in obj.items():
                target = _target(str(key), mapping)
                if target.startswith("attr:"):
                    attrs[target[5:]] = value
                elif target != "ignore":
                    fields[target] = "" if value is None else str(value)
            yield SourceRow(line_no, fields, attrs, [text.rstrip("\r\n")[:1000]])
