"""Bulk import of subscribers: streamed, batched, deduplicated, with consent evidence.

``import_file`` reads records one at a time (``import_source``), checks and normalizes each
address on the way (the regex fast path of ``verify.syntax``; ``import_parse``, in a
child process for files over 8 MB so parsing and writing use both cores), and writes
batches of ``batch_size`` rows (``import_write``), each batch in its own transaction that
holds the write lock from its start: new subscribers, updates of existing ones,
subscriptions and one ``import`` consent entry per row, which references this import's
record for the evidence the whole file shares. A file of any size is never held in
memory; the only state that grows is a set of 64-bit hashes for deduplication (~60 MB
per million rows, in the parsing process).

Every row that is not imported is written to the error file with its line number and the
reason: invalid address, duplicate of an earlier row, suppressed, unreadable. Nothing is
dropped silently. An import without a declared lawful basis is refused.

Atomicity: an import is **not** atomic — one transaction over a million rows would hold
the SQLite write lock for the whole import and stop delivery workers. It is
**resumable by re-running**: each batch commits with the import's progress
(``audience_imports.last_line`` and counts), and an import is an idempotent upsert keyed
by the normalized address, so running the same file again after a crash converges to the
same result (rows already present count as updated or skipped).

Limits: an import never re-subscribes someone who unsubscribed from the list, and it
does not send double opt-in confirmations (imported people are ``unconfirmed`` on a double
opt-in list until they confirm some other way).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from queue import Empty
from typing import Any

from sqlalchemy import Connection, Engine, insert, update

from sendwell.audience.consent import ImpliedBy, LawfulBasis, check_basis
from sendwell.audience.csvsafe import SafeWriter
from sendwell.audience.import_parse import Parsed, ParseSpec, batches, run_child
from sendwell.audience.import_source import Format, read_rows
from sendwell.audience.import_write import ImportTarget, Mode, write_batch
from sendwell.audience.records import MailingList
from sendwell.errors import InvalidInput
from sendwell.store.engine import write_transaction
from sendwell.store.schema_audience import audience_imports

__all__ = ["ImportOptions", "ImportReport", "Mode", "import_file"]
# Below this size a child process costs more (start-up ~0.3 s) than it saves.
PARALLEL_FROM_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ImportOptions:
    """What the person importing declares; ``lawful_basis`` is required."""

    mailing_list: MailingList
    lawful_basis: str | None
    mode: Mode = "upsert"
    fmt: Format = "csv"
    encoding: str = "utf-8"
    mapping: dict[str, str] = field(default_factory=dict)
    wording: str | None = None
    wording_version: str | None = None
    implied_by: ImpliedBy | None = None
    batch_size: int = 20000


@dataclass
class ImportReport:
    import_id: int
    rows: int = 0
    added: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    error_file: str = ""

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check(options: ImportOptions) -> LawfulBasis:
    if not options.lawful_basis:
        raise InvalidInput(
            "an import needs a declared lawful basis (--basis consent or --basis soft_opt_in): "
            "say how these people agreed to be mailed"
        )
    basis = check_basis(options.lawful_basis)
    if basis == "soft_opt_in" and options.implied_by is None:
        raise InvalidInput("soft opt-in (implied consent) needs --implied-by purchase|inquiry")
    if options.mode not in ("upsert", "skip_existing"):
        raise InvalidInput(f"mode must be upsert or skip_existing, not {options.mode!r}")
    if options.batch_size < 1:
        raise InvalidInput("batch size must be at least 1")
    return basis


def import_file(
    engine: Engine,
    path: Path,
    options: ImportOptions,
    *,
    now: datetime,
    error_path: Path,
    on_bytes: Callable[[int], None] | None = None,
    on_batch: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import one file into ``options.mailing_list``; see the module docstring.

    ``on_bytes`` is called with the bytes of the file consumed since the last call (a
    progress bar over the file size); ``on_batch`` with the report so far, after each
    batch is committed (counts of rows that are durably in the database)."""
    basis = _check(options)
    # Header, mapping and encoding problems surface here, before anything is written.
    read_rows(path, fmt=options.fmt, encoding=options.encoding, mapping=options.mapping).close()
    with engine.begin() as conn:
        import_id = int(
            conn.execute(
                insert(audience_imports).values(
                    list_id=options.mailing_list.id,
                    file_name=path.name,
                    lawful_basis=basis,
                    wording=options.wording,
                    wording_version=options.wording_version,
                    mode=options.mode,
                    state="running",
                    last_line=0,
                    added=0,
                    updated=0,
                    skipped=0,
                    rejected=0,
                    error_file=str(error_path),
                    started_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
    report = ImportReport(import_id=import_id, error_file=str(error_path))
    spec = ParseSpec(
        path=path,
        fmt=options.fmt,
        encoding=options.encoding,
        mapping=dict(options.mapping),
        batch_size=options.batch_size,
        now=now,
        implied_by=options.implied_by,
    )
    target = ImportTarget(import_id, options.mailing_list, options.mode, now)
    parallel = path.stat().st_size >= PARALLEL_FROM_BYTES
    try:
        with error_path.open("w", newline="", encoding="utf-8") as errfh:
            errors = SafeWriter(errfh)
            errors.writerow(["line", "reason", "values"])
            for parsed in _parsed_in_child(spec) if parallel else batches(spec):
                report.rows += parsed.rows
                report.rejected += len(parsed.rejects)
                for reject in parsed.rejects:
                    errors.writerow(reject)
                if len(parsed.batch):
                    _write(engine, parsed, target, report, errors)
                if on_bytes is not None:
                    on_bytes(parsed.nbytes)
                if on_batch is not None:
                    on_batch(report)
    except BaseException:
        with engine.begin() as conn:
            _progress(conn, report, state="failed", last_line=None, now=now)
        raise
    with engine.begin() as conn:
        _progress(conn, report, state="finished", last_line=None, now=now)
    return report


def _write(
    engine: Engine, parsed: Parsed, target: ImportTarget, report: ImportReport, errors: SafeWriter
) -> None:
    """One batch and the import's progress, in one transaction; ``report`` counts it
    once it is committed."""
    with write_transaction(engine) as conn:
        outcome = write_batch(conn, parsed.batch, target)
        after = replace(
            report,
            added=report.added + outcome.added,
            updated=report.updated + outcome.updated,
            skipped=report.skipped + outcome.skipped,
        )
        _progress(conn, after, state="running", last_line=parsed.batch.lines[-1], now=None)
    report.added, report.updated, report.skipped = after.added, after.updated, after.skipped
    for skipped in outcome.skipped_rows:
        errors.writerow(skipped)


def _parsed_in_child(spec: ParseSpec) -> Iterator[Parsed]:
    """Batches parsed by a child process, two at most in flight (bounded memory)."""
    # spawn, not fork: imports also run from the web server's background threads, and
    # forking a process that has threads can copy a lock some other thread held at that
    # instant, deadlocking the child. A fresh interpreter costs a fraction of a second,
    # and only files large enough to be worth a second core get a child at all.
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue(maxsize=2)
    child = ctx.Process(target=run_child, args=(spec, queue), daemon=True)
    child.start()
    try:
        while True:
            try:
                item = queue.get(timeout=5)
            except Empty:
                if not child.is_alive():
                    raise InvalidInput(
                        f"the import reader stopped unexpectedly (exit code {child.exitcode})"
                    ) from None
                continue
            if item is None:
                return
            if isinstance(item, str):
                raise InvalidInput(item)
            yield item
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        queue.close()


def _progress(
    conn: Connection,
    report: ImportReport,
    *,
    state: str,
    last_line: int | None,
    now: datetime | None,
) -> None:
    values: dict[str, Any] = {
        "state": state,
        "added": report.added,
        "updated": report.updated,
        "skipped": report.skipped,
        "rejected": report.rejected,
    }
    if last_line is not None:
        values["last_line"] = last_line
    if now is not None:
        values["finished_at"] = now
    conn.execute(
        update(audience_imports).where(audience_imports.c.id == report.import_id).values(**values)
    )
