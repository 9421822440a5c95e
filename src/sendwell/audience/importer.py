"""Bulk import of subscribers: streamed, batched, deduplicated, with consent evidence.

``import_file`` reads records one at a time (``import_source``), checks and normalizes each
address on the way (the regex fast path of ``verify.syntax``; ``import_parse``, in a
child process for files over 8 MB so parsing and writing use both cores), and writes
batches of ``batch_size`` rows, each batch in its own transaction: new subscribers in one
``executemany``, updates in another, subscriptions with one ``INSERT ... SELECT`` and one
``import`` consent entry per row. A file of any size is never held in memory; the only
state that grows is a set of 64-bit hashes for deduplication (~60 MB per million rows).

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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from queue import Empty
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)

from sendwell.audience.bulk import (
    bind_constant,
    bind_processor,
    fetch_raw,
    in_values,
    insert_many,
)
from sendwell.audience.consent import ImpliedBy, LawfulBasis, check_basis
from sendwell.audience.csvsafe import SafeWriter
from sendwell.audience.import_parse import Batch, Parsed, ParseSpec, batches, run_child
from sendwell.audience.import_source import Format, read_rows
from sendwell.audience.records import MailingList
from sendwell.errors import InvalidInput
from sendwell.store.schema import subscribers, subscriptions, suppressions
from sendwell.store.schema_audience import audience_imports, consent_events

Mode = Literal["upsert", "skip_existing"]
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
) -> ImportReport:
    """Import one file into ``options.mailing_list``; see the module docstring."""
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
        source_ref=f"import:{import_id} {path.name}"[:200],
        implied_by=options.implied_by,
    )
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
                _flush(engine, parsed.batch, options, basis, report, errors, now)
                if on_bytes is not None:
                    on_bytes(parsed.nbytes)
    except BaseException:
        with engine.begin() as conn:
            _progress(conn, report, state="failed", last_line=None, now=now)
        raise
    with engine.begin() as conn:
        _progress(conn, report, state="finished", last_line=None, now=now)
    return report


def _parsed_in_child(spec: ParseSpec) -> Iterator[Parsed]:
    """Batches parsed by a child process, two at most in flight (bounded memory)."""
    # fork, not spawn: spawn re-imports the main module, and ``python -m sendwell`` would
    # run the whole command again in the child. The child only parses (no database, no
    # console), so inheriting the parent's state is harmless.
    ctx = multiprocessing.get_context("fork")
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


_SUBSCRIBER_COLUMNS = (
    "email",
    "email_hash",
    "domain",
    "first_name",
    "last_name",
    "attributes",
    "status",
    "created_at",
    "updated_at",
)
_CONSENT_COLUMNS = (
    "at",
    "email_hash",
    "subscriber_id",
    "list_id",
    "action",
    "source",
    "source_ref",
    "ip",
    "user_agent",
    "wording",
    "wording_version",
    "method",
    "confirmed_at",
    "lawful_basis",
    "implied_expires_at",
)


def _flush(
    engine: Engine,
    batch: Batch,
    options: ImportOptions,
    basis: LawfulBasis,
    report: ImportReport,
    errors: SafeWriter,
    now: datetime,
) -> None:
    if not batch.emails:
        return
    ml = options.mailing_list
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # The default 2 MB page cache makes every index insert of a big import a
            # page fault once the indexes outgrow it; 64 MB keeps them hot.
            conn.exec_driver_sql("PRAGMA cache_size=-65536")
        blocked = dict(
            conn.execute(
                select(suppressions.c.email_hash, suppressions.c.reason).where(
                    and_(
                        in_values(conn, suppressions.c.email_hash, batch.hashes),
                        or_(suppressions.c.list_id.is_(None), suppressions.c.list_id == ml.id),
                        or_(suppressions.c.expires_at.is_(None), suppressions.c.expires_at > now),
                    )
                )
            ).all()
        )
        keep = range(len(batch.emails))
        if blocked:
            keep = [i for i in keep if batch.hashes[i] not in blocked]  # type: ignore[assignment]
            for i, email_hash in enumerate(batch.hashes):
                if email_hash in blocked:
                    report.skipped += 1
                    reason = f"skipped: suppressed ({blocked[email_hash]})"
                    errors.writerow([batch.lines[i], reason, batch.emails[i]])
        # Attributes are only read (and decoded) for the rows an upsert will merge into.
        existing: dict[str, int] = dict(
            fetch_raw(
                conn,
                select(subscribers.c.email, subscribers.c.id).where(
                    in_values(conn, subscribers.c.email, [batch.emails[i] for i in keep])
                ),
            )
        )
        stamp = bind_constant(conn, subscribers, "created_at", now)
        new_rows = [
            (
                batch.emails[i],
                batch.hashes[i],
                batch.domains[i],
                batch.first[i],
                batch.last[i],
                batch.attrs_json[i],
                "active",
                stamp,
                stamp,
            )
            for i in keep
            if batch.emails[i] not in existing
        ]
        insert_many(conn, subscribers, _SUBSCRIBER_COLUMNS, new_rows)
        report.added += len(new_rows)
        if options.mode == "skip_existing":
            report.skipped += len(existing)
            written = [i for i in keep if batch.emails[i] not in existing]
        else:
            _update(conn, batch, [i for i in keep if batch.emails[i] in existing], existing, now)
            report.updated += len(existing)
            written = list(keep)
        emails = [batch.emails[i] for i in written]
        ids: dict[str, int] = dict(
            fetch_raw(
                conn,
                select(subscribers.c.email, subscribers.c.id).where(
                    in_values(conn, subscribers.c.email, emails)
                ),
            )
        )
        # Re-importing someone already on the list leaves their subscription as it is: an
        # unsubscribed person is never re-subscribed by an import.
        status = "confirmed" if ml.optin == "single" else "unconfirmed"
        insert_many(
            conn,
            subscriptions,
            ("subscriber_id", "list_id", "status", "created_at", "updated_at"),
            [(ids[e], ml.id, status, stamp, stamp) for e in emails],
            skip_conflicts=True,
        )
        at = bind_constant(conn, consent_events, "at", now)
        expiry = bind_processor(conn, consent_events, "implied_expires_at")
        insert_many(
            conn,
            consent_events,
            _CONSENT_COLUMNS,
            [
                (
                    at,
                    batch.hashes[i],
                    ids.get(batch.emails[i]),
                    ml.id,
                    "import",
                    "import",
                    batch.refs[i],
                    batch.ips[i],
                    None,
                    options.wording,
                    options.wording_version,
                    "import",
                    None,
                    basis,
                    expiry(batch.expiries[i]) if expiry else batch.expiries[i],
                )
                for i in written
            ],
        )
        _progress(conn, report, state="running", last_line=batch.lines[-1], now=None)


def _update(
    conn: Connection, batch: Batch, which: list[int], existing: dict[str, int], now: datetime
) -> None:
    if not which:
        return
    ids = [existing[batch.emails[i]] for i in which]
    current = dict(
        conn.execute(
            select(subscribers.c.id, subscribers.c.attributes).where(
                in_values(conn, subscribers.c.id, ids)
                if conn.dialect.name == "sqlite"
                else subscribers.c.id.in_(ids)
            )
        ).all()
    )
    params = []
    for i, sid in zip(which, ids, strict=True):
        params.append(
            {
                "b_id": sid,
                "b_first": batch.first[i],
                "b_last": batch.last[i],
                "b_attrs": {**(current.get(sid) or {}), **batch.attrs[i]},
            }
        )
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == bindparam("b_id"))
        .values(
            first_name=func.coalesce(bindparam("b_first"), subscribers.c.first_name),
            last_name=func.coalesce(bindparam("b_last"), subscribers.c.last_name),
            attributes=bindparam("b_attrs", type_=subscribers.c.attributes.type),
            updated_at=now,
        ),
        params,
    )


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
