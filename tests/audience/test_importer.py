"""Streaming import: mapping, dedupe, syntax checks, error file, consent, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from sendwell.audience.addresses import normalize
from sendwell.audience.consent import history
from sendwell.audience.importer import ImportOptions, ImportReport, import_file
from sendwell.audience.lists import create_list
from sendwell.audience.records import MailingList
from sendwell.audience.subscribers import get_subscriber
from sendwell.audience.suppressions import suppress
from sendwell.clock import FrozenClock
from sendwell.errors import InvalidInput
from sendwell.store.schema import subscribers, subscriptions
from sendwell.store.schema_audience import audience_imports


def _list(engine: Engine, clock: FrozenClock) -> MailingList:
    with engine.begin() as conn:
        return create_list(conn, "News", now=clock.now())


def _errors(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))[1:]


def _run(engine: Engine, clock: FrozenClock, tmp_path: Path, data: bytes, **kw: object):  # type: ignore[no-untyped-def]
    ml = kw.pop("ml", None) or _list(engine, clock)
    name = str(kw.pop("name", "people.csv"))
    src = tmp_path / name
    src.write_bytes(data)
    options = ImportOptions(mailing_list=ml, lawful_basis="consent", **kw)  # type: ignore[arg-type]
    report = import_file(engine, src, options, now=clock.now(), error_path=tmp_path / "err.csv")
    return report, _errors(tmp_path / "err.csv")


def test_csv_with_bom_crlf_quoted_newlines_and_bad_rows(
    engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    data = (
        "\ufeffE-Mail,First Name,Plan,Notes\r\n"
        'Ann@Example.COM,Ann,pro,"line one\nline two"\n'
        "not-an-address,X,free,\r\n"
        'bob@example.org,Bob,free,=HYPERLINK("http://evil")\r'
        "ann@example.com,Annie,free,dup\n"
        ",,,\n"
        "cy@example.net,Cy,,,extra\n"
        "dee@example.com,Dee,,\n"
    ).encode()
    report, errors = _run(engine, clock, tmp_path, data, batch_size=2)
    assert (report.rows, report.added, report.updated, report.rejected) == (7, 3, 0, 4)
    by_line = {int(e[0]): e[1] for e in errors}
    # Line numbers are physical lines: the quoted newline makes Ann's record two lines.
    assert sorted(by_line) == [4, 6, 7, 8]
    assert by_line[4].startswith("invalid address")
    assert by_line[6] == "duplicate of an earlier row in this file"
    assert by_line[7] == "no email address"
    assert "5 fields" in by_line[8]
    with engine.connect() as conn:
        ann = get_subscriber(conn, "ann@example.com")
        bob = get_subscriber(conn, "bob@example.org")
        n_subs = conn.execute(select(func.count()).select_from(subscriptions)).scalar_one()
        log = history(conn, normalize("ann@example.com"))
        state = conn.execute(select(audience_imports.c.state, audience_imports.c.last_line)).one()
    assert ann.first_name == "Ann" and ann.attributes == {
        "Plan": "pro",
        "Notes": "line one\nline two",
    }
    assert bob.attributes["Notes"] == '=HYPERLINK("http://evil")'
    assert n_subs == 3
    assert [(e.action, e.evidence.source, e.evidence.lawful_basis) for e in log] == [
        ("import", "import", "consent")
    ]
    assert log[0].evidence.source_ref.startswith("import:1 people.csv")
    assert tuple(state) == ("finished", 9)


def test_error_file_neutralizes_formulas(
    engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    data = b'email,name\n"=HYPERLINK(""http://evil"",""x"")",@SUM(A1)\n'
    _, errors = _run(engine, clock, tmp_path, data)
    assert errors[0][2] == '\'=HYPERLINK("http://evil","x")'
    assert errors[0][3] == "'@SUM(A1)"


def test_upsert_versus_skip_existing(engine: Engine, clock: FrozenClock, tmp_path: Path) -> None:
    ml = _list(engine, clock)
    _run(engine, clock, tmp_path, b"email,first_name,city\nann@example.com,Ann,Oslo\n", ml=ml)
    report, _ = _run(
        engine,
        clock,
        tmp_path,
        b"email,first_name,zip\nann@example.com,,0150\nbo@x.org,,\n",
        ml=ml,
        mode="skip_existing",
    )
    assert (report.added, report.updated, report.skipped) == (1, 0, 1)
    with engine.connect() as conn:
        assert get_subscriber(conn, "ann@example.com").attributes == {"city": "Oslo"}
    report, _ = _run(
        engine, clock, tmp_path, b"email,first_name,zip\nann@example.com,,0150\n", ml=ml
    )
    assert (report.added, report.updated) == (0, 1)
    with engine.connect() as conn:
        ann = get_subscriber(conn, "ann@example.com")
    assert ann.attributes == {"city": "Oslo", "zip": "0150"} and ann.first_name == "Ann"


def test_suppressed_addresses_are_skipped_and_reported(
    engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    ml = _list(engine, clock)
    with engine.begin() as conn:
        suppress(conn, "gone@example.com", reason="hard_bounce", now=clock.now())
        suppress(conn, "notnews@example.com", reason="unsubscribe", now=clock.now(), list_id=ml.id)
    data = b"email\ngone@example.com\nnotnews@example.com\nok@example.com\n"
    report, errors = _run(engine, clock, tmp_path, data, ml=ml)
    assert (report.added, report.skipped) == (1, 2)
    assert sorted((e[0], e[1]) for e in errors) == [
        ("2", "skipped: suppressed (hard_bounce)"),
        ("3", "skipped: suppressed (unsubscribe)"),
    ]
    with engine.connect() as conn:
        assert conn.execute(select(subscribers.c.email)).scalars().all() == ["ok@example.com"]


def test_json_lines_and_mapping(engine: Engine, clock: FrozenClock, tmp_path: Path) -> None:
    lines = [
        json.dumps({"Mail": "ann@example.com", "plan": "pro", "score": 7, "tmp": "x"}),
        "not json",
        json.dumps(["a", "list"]),
        json.dumps({"Mail": "bob@example.com", "consent_source": "shop checkout"}),
    ]
    report, errors = _run(
        engine,
        clock,
        tmp_path,
        "\n".join(lines).encode(),
        name="people.jsonl",
        fmt="jsonl",
        mapping={"Mail": "email", "tmp": "ignore"},
    )
    assert (report.added, report.rejected) == (2, 2)
    assert [e[0] for e in errors] == ["2", "3"]
    with engine.connect() as conn:
        assert get_subscriber(conn, "ann@example.com").attributes == {"plan": "pro", "score": 7}
        log = history(conn, normalize("bob@example.com"))
    assert log[0].evidence.source_ref == "shop checkout"


def test_soft_opt_in_records_its_expiry(engine: Engine, clock: FrozenClock, tmp_path: Path) -> None:
    data = b"email,consent_at\nann@example.com,2026-03-01T10:00:00+00:00\nbob@example.com,\n"
    with pytest.raises(InvalidInput, match="implied-by"):
        _run(engine, clock, tmp_path, data, lawful_basis="soft_opt_in") if False else import_file(
            engine,
            tmp_path / "x.csv",
            ImportOptions(_list(engine, clock), "soft_opt_in"),
            now=clock.now(),
            error_path=tmp_path / "e.csv",
        )
    src = tmp_path / "p.csv"
    src.write_bytes(data)
    with engine.connect() as conn:
        from sendwell.audience.lists import find_list

        ml = find_list(conn, "News")
    import_file(
        engine,
        src,
        ImportOptions(ml, "soft_opt_in", implied_by="inquiry"),
        now=clock.now(),
        error_path=tmp_path / "e.csv",
    )
    with engine.connect() as conn:
        ann = history(conn, normalize("ann@example.com"))[0].evidence
        bob = history(conn, normalize("bob@example.com"))[0].evidence
    assert ann.lawful_basis == "soft_opt_in"
    assert ann.implied_expires_at is not None and ann.implied_expires_at.isoformat().startswith(
        "2026-09-01T10:00"
    )
    assert bob.implied_expires_at is not None and bob.implied_expires_at.month == 5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,city\nAnn,Oslo\n", "no email column"),
        (b"email,Name,name\na@x.org,A,B\n", "duplicate column 'name'"),
        (b"email\nok@x.org\nb\xe9@x.org\n", "not valid UTF-8 text at line 3"),
        (b"", "is empty"),
    ],
)
def test_bad_files_are_refused_before_writing(
    engine: Engine, clock: FrozenClock, tmp_path: Path, data: bytes, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        _run(engine, clock, tmp_path, data)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(subscribers)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(audience_imports)).scalar_one() == 0


def test_other_encodings_and_huge_fields(
    engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    big = "x" * (10 * 1024 * 1024)
    data = f"email,name,notes\nzoé@example.com,Zoé,\nbig@example.com,B,{big}\n".encode("cp1252")
    report, errors = _run(engine, clock, tmp_path, data, encoding="cp1252")
    assert (report.added, report.rejected) == (1, 1)
    assert errors[0][0] == "3" and "over 65536" in errors[0][1]
    with engine.connect() as conn:
        assert get_subscriber(conn, "zoé@example.com").first_name is None
        names = conn.execute(select(subscribers.c.attributes)).scalars().all()
    assert names == [{"name": "Zoé"}]


def test_an_import_without_a_basis_is_refused(
    engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    src = tmp_path / "p.csv"
    src.write_bytes(b"email\na@example.com\n")
    with pytest.raises(InvalidInput, match="lawful basis"):
        import_file(
            engine,
            src,
            ImportOptions(_list(engine, clock), None),
            now=clock.now(),
            error_path=tmp_path / "e.csv",
        )


def test_on_batch_reports_committed_progress(
    engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    ml = _list(engine, clock)
    src = tmp_path / "p.csv"
    src.write_bytes(b"email\n" + b"".join(f"p{i}@example.com\n".encode() for i in range(5)))
    seen: list[tuple[int, int]] = []

    def on_batch(report: ImportReport) -> None:
        with engine.connect() as conn:  # another connection: only committed rows show
            stored = conn.execute(select(func.count()).select_from(subscribers)).scalar_one()
        seen.append((report.added, stored))

    import_file(
        engine,
        src,
        ImportOptions(ml, "consent", batch_size=2),
        now=clock.now(),
        error_path=tmp_path / "e.csv",
        on_batch=on_batch,
    )
    assert seen == [(2, 2), (4, 4), (5, 5)]


def test_a_large_file_is_parsed_by_a_child_process_with_the_same_result(
    engine: Engine, clock: FrozenClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files over the threshold are parsed in a second process; run from a thread, as the
    web server's background jobs run imports, the result is the in-process one."""
    import threading

    import sendwell.audience.importer as importer

    rows = "".join(f"user{i}@example.com,User {i}\n" for i in range(500))
    data = f"email,first_name\n{rows}not-an-address,X\nuser7@example.com,dup\n".encode()
    monkeypatch.setattr(importer, "PARALLEL_FROM_BYTES", 1)
    results: list[object] = []

    def run() -> None:
        try:
            results.append(_run(engine, clock, tmp_path, data, batch_size=64))
        except BaseException as exc:  # surfaced below, in the test's own thread
            results.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the import did not finish"
    outcome = results[0]
    assert not isinstance(outcome, BaseException), outcome
    report, errors = outcome  # type: ignore[misc]
    assert (report.rows, report.added, report.rejected) == (502, 500, 2)
    assert sorted(int(e[0]) for e in errors) == [502, 503]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(subscribers)).scalar_one() == 500
        assert get_subscriber(conn, "user499@example.com").first_name == "User 499"
