"""Turning import records into write batches: validation, normalization, dedupe.

This is the CPU half of an import and holds no database connection, so a big import runs
it in a child process (:func:`run_child`) while the parent writes the previous batch; the
two halves then use both cores. Small files are parsed in-process (:func:`batches`).

Dedupe keeps one 64-bit ``hash()`` per accepted address (string hashing is randomized
per process, so the set lives where the parsing happens); a collision would report a
row as a duplicate — never drop it silently — with odds around 1 in 10^7 per million rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sendwell.audience.consent import ImpliedBy, implied_expiry
from sendwell.audience.import_source import Format, SourceRow, read_rows
from sendwell.errors import SendwellError
from sendwell.verify.syntax import parse_address, plain_address


@dataclass
class Batch:
    """Rows waiting to be written; parallel lists (columns), one entry per accepted record.

    Columns rather than row objects: they cross the process boundary as a few lists, and
    the writer zips them into driver tuples without a Python loop per row. ``refs`` holds
    the row's own ``consent_source`` or ``""`` (the import's reference applies)."""

    emails: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    first: list[str | None] = field(default_factory=list)
    last: list[str | None] = field(default_factory=list)
    attrs_json: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    ips: list[str | None] = field(default_factory=list)
    expiries: list[datetime | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.emails)

    def subset(self, rows: Sequence[int]) -> Batch:
        """The batch restricted to the rows at these positions, in that order."""
        return Batch(**{name: [column[i] for i in rows] for name, column in self._columns()})

    def _columns(self) -> Iterator[tuple[str, list[Any]]]:
        for name in self.__dataclass_fields__:
            yield name, getattr(self, name)


@dataclass(frozen=True)
class ParseSpec:
    """Everything the parsing half needs (picklable, for the child process)."""

    path: Path
    fmt: Format
    encoding: str
    mapping: dict[str, str]
    batch_size: int
    now: datetime
    implied_by: ImpliedBy | None


@dataclass
class Parsed:
    """One batch ready to write, and the rows rejected since the previous one."""

    batch: Batch
    rejects: list[list[Any]]
    rows: int
    nbytes: int


def batches(spec: ParseSpec) -> Iterator[Parsed]:
    """Parse the file into batches of at most ``spec.batch_size`` accepted rows."""
    counter = [0]

    def count(n: int) -> None:
        counter[0] += n

    records = read_rows(
        spec.path, fmt=spec.fmt, encoding=spec.encoding, mapping=spec.mapping, on_bytes=count
    )
    seen: set[int] = set()
    batch, rejects, rows = Batch(), [], 0
    for rec in records:
        rows += 1
        problem = rec.error or _add(batch, rec, seen, spec.now, spec.implied_by)
        if problem:
            rejects.append([rec.line, problem, *rec.raw])
        if len(batch.emails) >= spec.batch_size or len(rejects) >= spec.batch_size:
            yield Parsed(batch, rejects, rows, counter[0])
            batch, rejects, rows, counter[0] = Batch(), [], 0, 0
    yield Parsed(batch, rejects, rows, counter[0])


def run_child(spec: ParseSpec, queue: Any) -> None:
    """Child process body: put each :class:`Parsed`, then None (or the error text)."""
    try:
        for parsed in batches(spec):
            queue.put(parsed)
    except SendwellError as exc:
        queue.put(str(exc))
        return
    except Exception as exc:  # reported to the parent, which raises it as its own error
        queue.put(f"import failed while reading: {exc!r}")
        return
    queue.put(None)


def _add(
    batch: Batch,
    rec: SourceRow,
    seen: set[int],
    now: datetime,
    implied_by: ImpliedBy | None,
) -> str | None:
    """Queue one record in the batch, or return why it is rejected."""
    fields = rec.fields
    raw_email = fields.get("email", "")
    # Nearly every address is plain ASCII: the fast path alone, with the same result;
    # parse_address only for the rest, and to say what is wrong.
    plain = plain_address(raw_email)
    if plain is None:
        if not raw_email.strip():
            return "no email address"
        parsed = parse_address(raw_email)
        if parsed.normalized is None:
            finding = parsed.findings[0]
            return f"invalid address: {finding.detail or finding.code.value}"
        plain = parsed.normalized, parsed.domain
    email, domain = plain
    key = hash(email)
    if key in seen:
        return "duplicate of an earlier row in this file"
    seen.add(key)
    expires = None
    if implied_by is not None:
        since = now
        stamp = fields.get("consent_at")
        if stamp:
            try:
                since = datetime.fromisoformat(stamp)
            except ValueError:
                return f"consent_at {stamp[:40]!r} is not an ISO date"
            if since.tzinfo is None:
                since = since.replace(tzinfo=now.tzinfo)
        expires = implied_expiry(implied_by, since)
    batch.emails.append(email)
    batch.hashes.append(hashlib.sha256(email.encode()).hexdigest())
    batch.domains.append(domain)
    batch.first.append(fields.get("first_name") or None)
    batch.last.append(fields.get("last_name") or None)
    batch.attrs_json.append(attributes_json(rec.attributes))
    batch.lines.append(rec.line)
    batch.refs.append((fields.get("consent_source") or "")[:200])
    batch.ips.append((fields.get("consent_ip") or "")[:45] or None)
    batch.expiries.append(expires)
    return None


_json_string = json.encoder.encode_basestring_ascii


def attributes_json(attributes: dict[str, Any]) -> str:
    """``json.dumps(attributes)``, the same text, about three times faster when every
    value is a string (any CSV row): ``json.dumps`` builds a new encoder per call."""
    if not attributes:
        return "{}"
    try:
        pairs = [_json_string(k) + ": " + _json_string(v) for k, v in attributes.items()]
    except TypeError:  # numbers, lists, null... (JSON Lines)
        return json.dumps(attributes)
    return "{" + ", ".join(pairs) + "}"
