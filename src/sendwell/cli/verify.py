"""The ``sendwell verify`` command: addresses, a CSV file, standard input, or a whole list.

Four ways in, one command::

    sendwell verify ann@example.com bob@gmial.com      # a table (or --json lines)
    sendwell verify people.csv -o checked.csv           # a file, with a progress bar
    sendwell verify --stdin --json < addresses.txt      # one JSON object per input line
    sendwell verify --list News                         # every subscriber; results stored

Input is read as bytes, line by line, at most :data:`MAX_LINE` bytes a line: an
over-long line, invalid UTF-8, an empty line or a CR/NUL inside a line gets an
``invalid`` verdict with its reason instead of stopping the run, so a million-row file
always finishes with one output record per input line. Work goes in chunks of
:data:`CHUNK` lines, so memory stays flat however long the input is.

The database is used for ``--list`` (results stored) and, when it exists, for the
history check (hard bounces, complaints); ad-hoc runs work without ``sendwell init``.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO, TextIO

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from sendwell.app import App, build_verifier, open_app
from sendwell.audience.lists import find_list
from sendwell.cli import context
from sendwell.cli.context import err, out
from sendwell.clock import SystemClock
from sendwell.config import Settings
from sendwell.errors import InvalidInput
from sendwell.verify.bulk import Verifier
from sendwell.verify.checks import rejected
from sendwell.verify.records import CHECKS, DEFAULT_CHECKS, Check, Finding, Reason, Verification
from sendwell.verify.service import DatabaseHistory, verify_list

MAX_LINE = 64 * 1024
CHUNK = 5000
CSV_COLUMNS = (
    "line",
    "address",
    "normalized",
    "syntax_valid",
    "verdict",
    "score",
    "reasons",
    "suggestion",
    "disposable",
    "role",
    "free",
    "detail",
)
_EMAIL_HEADERS = {"email", "e-mail", "email_address", "address", "mail"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def parse_checks(text: str | None, *, probe: bool) -> frozenset[Check]:
    """The ``--checks`` value (comma-separated) or the default set, plus the probe flag."""
    if text is None:
        chosen: set[Check] = set(DEFAULT_CHECKS)
    else:
        chosen = set()
        for name in (part.strip().lower() for part in text.split(",")):
            if not name:
                continue
            if name not in CHECKS:
                raise InvalidInput(f"unknown check {name!r} (one of {', '.join(CHECKS)})")
            chosen.add(name)
    if probe:
        chosen.add("probe")
    return frozenset(chosen)


# -- reading input ----------------------------------------------------------------------


Line = tuple[int, str, Finding | None]  # (line number, text, why it cannot be used)


def read_lines(stream: BinaryIO) -> Iterator[Line]:
    """Each input line as text, or with the finding that makes it unreadable."""
    first = True
    number = 0
    while True:
        raw = stream.readline(MAX_LINE)
        if not raw:
            return
        number += 1
        if len(raw) == MAX_LINE and not raw.endswith(b"\n"):
            while True:  # skip the rest of the over-long line without holding it
                more = stream.readline(MAX_LINE)
                if not more or more.endswith(b"\n"):
                    break
            yield (
                number,
                raw[:80].decode("utf-8", "replace"),
                Finding(Reason.TOO_LONG, f"input line longer than {MAX_LINE} bytes"),
            )
            first = False
            continue
        raw = raw[:-1] if raw.endswith(b"\n") else raw
        raw = raw[:-1] if raw.endswith(b"\r") else raw
        if first and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 byte order mark from spreadsheet exports
        first = False
        try:
            yield number, raw.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            yield (
                number,
                raw.decode("utf-8", "replace"),
                Finding(Reason.BAD_ENCODING, f"not UTF-8 (byte {exc.start})"),
            )


def csv_addresses(lines: Iterator[Line]) -> Iterator[Line]:
    """The address column of CSV lines; a header row naming it is recognised and skipped."""
    column = 0
    first = True
    for number, text, problem in lines:
        if problem is not None and problem.code == Reason.TOO_LONG:
            first = False
            yield number, text, problem
            continue
        try:
            cells = next(csv.reader([text]), [])
        except csv.Error:
            # A CR inside an unquoted field: split plainly so the syntax layer names it.
            cells = text.split(",")
        if first:
            first = False
            names = [c.strip().lower() for c in cells]
            header = [i for i, name in enumerate(names) if name in _EMAIL_HEADERS]
            if header:
                column = header[0]
                continue
        yield number, (cells[column] if column < len(cells) else ""), problem


def _chunks(items: Iterator[Line]) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _verify_chunk(verifier: Verifier, chunk: list[Line]) -> list[Verification]:
    good = [text for _, text, problem in chunk if problem is None]
    if verifier.online:
        checked = iter(await verifier.verify_many(good))
    else:
        checked = iter(verifier.verify_offline(good))
    return [
        next(checked) if problem is None else rejected(text, problem, verifier.checks)
        for _, text, problem in chunk
    ]


# -- writing output ---------------------------------------------------------------------


def _printable(text: str) -> str:
    """Control characters shown as escapes, so an output line is one line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _csv_row(line: int, r: Verification) -> list[object]:
    return [
        line,
        _printable(r.address),
        r.normalized or "",
        r.syntax_valid,
        r.verdict,
        r.score,
        " ".join(r.reasons),
        r.suggestion or "",
        r.disposable,
        r.role,
        r.free,
        _printable("; ".join(f.detail for f in r.findings if f.detail)),
    ]


def _table(results: list[Verification]) -> Table:
    table = Table("address", "verdict", "score", "reasons", "suggestion")
    for r in results:
        table.add_row(
            _printable(r.address[:100]),
            r.verdict,
            str(r.score),
            ", ".join(r.reasons),
            r.suggestion or "",
        )
    return table


# -- the command ------------------------------------------------------------------------


def _database_history(stack: ExitStack, settings: Settings) -> DatabaseHistory | None:
    """History from the database when there is one; ad-hoc runs do not need one."""
    if not settings.database_url.reveal() and not settings.data_dir.is_dir():
        return None
    app: App = stack.enter_context(context.opened(config=settings))
    return DatabaseHistory(app.engine)


def verify(
    inputs: list[str] = typer.Argument(
        None,
        help="Addresses to verify, or one CSV/text file (column `email` if there is a "
        "header row, else the first column).",
        show_default=False,
    ),
    list_name: str | None = typer.Option(
        None, "--list", help="Verify every subscriber of this list and store the results."
    ),
    stdin: bool = typer.Option(False, "--stdin", help="Read one address per line from stdin."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print one JSON object per address: address, normalized, syntax_valid, "
        "verdict, reasons, suggestion, disposable, role, free.",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write results of a file or stdin run to this CSV file."
    ),
    checks: str | None = typer.Option(
        None,
        "--checks",
        help=f"Comma-separated layers to run, from: {', '.join(CHECKS)}. Default: all but "
        "probe. `syntax,disposable,role,typo` needs no network.",
    ),
    probe: bool | None = typer.Option(
        None,
        "--probe/--no-probe",
        help="Also ask each domain's mail server whether the mailbox exists (SMTP RCPT "
        "TO, nothing sent). Default: the verify_probe setting.",
    ),
) -> None:
    """Verify addresses: syntax, domain and MX, disposable, role, typo, history, probe."""
    settings = context.settings()
    wanted = parse_checks(checks, probe=settings.verify_probe if probe is None else probe)
    modes = sum([bool(inputs), list_name is not None, stdin])
    if modes != 1:
        raise InvalidInput("give addresses or a file, --list NAME, or --stdin (exactly one)")
    if list_name is not None:
        _verify_list(settings, list_name, wanted, as_json)
        return
    with ExitStack() as stack:
        history = _database_history(stack, settings) if "history" in wanted else None
        verifier = build_verifier(settings, wanted, clock=SystemClock(), history=history)
        if stdin:
            _stream(verifier, read_lines(sys.stdin.buffer), as_json, output, total=None)
            return
        if len(inputs) == 1 and "@" not in inputs[0] and Path(inputs[0]).exists():
            path = Path(inputs[0])
            if not path.is_file():
                raise InvalidInput(f"{path} is not a file")
            try:
                total = path.stat().st_size
                fh = stack.enter_context(path.open("rb"))
            except OSError as exc:
                raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
            _stream(verifier, csv_addresses(read_lines(fh)), as_json, output, total=total, fh=fh)
            return
        lines: list[Line] = [(i, a, None) for i, a in enumerate(inputs, start=1)]
        results = asyncio.run(_verify_chunk(verifier, lines))
        if as_json:
            for r in results:
                print(json.dumps(r.as_json(), ensure_ascii=False))
        else:
            out.print(_table(results))


def _stream(
    verifier: Verifier,
    items: Iterator[Line],
    as_json: bool,
    output: Path | None,
    *,
    total: int | None,
    fh: BinaryIO | None = None,
) -> None:
    """Verify chunk by chunk, writing JSON lines or CSV as each chunk finishes."""
    with ExitStack() as stack:
        sink: TextIO = sys.stdout
        if output is not None:
            try:
                sink = stack.enter_context(output.open("w", newline="", encoding="utf-8"))
            except OSError as exc:
                raise InvalidInput(f"cannot write {output}: {exc.strerror or exc}") from None
        # --json without -o writes JSON lines to stdout; everything else writes CSV.
        writer = None if (as_json and output is None) else csv.writer(sink)
        if writer is not None:
            writer.writerow(CSV_COLUMNS)
        show = total is not None and (output is not None or not sys.stdout.isatty())
        progress = Progress(
            TextColumn("verifying"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=not show,
            transient=True,
        )
        counts: dict[str, int] = {}

        async def run() -> None:
            task = progress.add_task("verify", total=total)
            for chunk in _chunks(items):
                checked = await _verify_chunk(verifier, chunk)
                for (line, _, _), r in zip(chunk, checked, strict=True):
                    counts[r.verdict] = counts.get(r.verdict, 0) + 1
                    if writer is None:
                        sink.write(json.dumps(r.as_json(), ensure_ascii=False) + "\n")
                    else:
                        writer.writerow(_csv_row(line, r))
                sink.flush()
                if fh is not None:
                    progress.update(task, completed=fh.tell())

        with progress:
            asyncio.run(run())
        if output is not None:
            summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
            err.print(f"{sum(counts.values())} addresses verified: {summary or 'none'}")


def _verify_list(settings: Settings, name: str, checks: frozenset[Check], as_json: bool) -> None:
    app = open_app(settings)
    try:
        with app.engine.connect() as conn:
            mailing_list = find_list(conn, name)
        history = DatabaseHistory(app.engine) if "history" in checks else None
        verifier = build_verifier(settings, checks, clock=app.clock, history=history)
        with Progress(
            TextColumn(f"verifying {mailing_list.name}"),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("verify", total=None)
            summary = asyncio.run(
                verify_list(
                    app.engine,
                    verifier,
                    mailing_list.id,
                    now=app.clock.now,
                    on_progress=lambda n: progress.advance(task, n),
                )
            )
    finally:
        app.close()
    if as_json:
        print(json.dumps({"list": mailing_list.name, "total": summary.total, **summary.verdicts}))
        return
    table = Table("verdict", "addresses", title=f"list {mailing_list.name}: {summary.total}")
    for verdict, n in summary.verdicts.items():
        table.add_row(verdict, str(n))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``sendwell`` application."""
    app.command("verify")(verify)


__all__ = ["csv_addresses", "parse_checks", "read_lines", "register"]
