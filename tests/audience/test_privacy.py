"""Export everything about one person; erase them and keep only the suppression hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from sendwell.audience.addresses import normalize
from sendwell.audience.consent import Evidence, history
from sendwell.audience.importer import ImportOptions, import_file
from sendwell.audience.lists import create_list
from sendwell.audience.optin import subscribe
from sendwell.audience.privacy import erase_person, export_person
from sendwell.audience.records import NewSubscriber
from sendwell.audience.suppressions import is_suppressed
from sendwell.clock import FrozenClock
from sendwell.errors import NotFound
from sendwell.store.schema import events, outbox, subscribers, subscriptions
from tests.audience.helpers import event


def test_export_then_erase(engine: Engine, clock: FrozenClock, tmp_path: Path) -> None:
    now = clock.now()
    h = normalize("ann@example.com").hash
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
        subscribe(
            conn,
            NewSubscriber("ann@example.com", "Ann", None, {"plan": "pro"}),
            ml,
            Evidence(source="form", ip="192.0.2.1", wording="Yes please"),
            now=now,
        )
        event(conn, "ann@example.com", "open", now)
        data = export_person(conn, "ANN@example.com")
    assert data["subscriber"]["first_name"] == "Ann"
    assert data["subscriber"]["attributes"] == {"plan": "pro"}
    assert data["subscriptions"][0]["status"] == "confirmed"
    assert data["consent"][0]["ip"] == "192.0.2.1"
    assert data["events"][0]["kind"] == "open"
    json.dumps(data)  # JSON-ready all the way down

    with engine.begin() as conn:
        result = erase_person(conn, "ann@example.com", now=now, requested_by="ticket 42")
    assert result.subscriber_deleted and result.events_deleted == 1
    with engine.connect() as conn:
        for table in (subscribers, subscriptions, events):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
        assert is_suppressed(conn, h, now=now)
        log = history(conn, normalize("ann@example.com"))
        gone = export_person(conn, "ann@example.com")
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 0
    assert [(e.action, e.evidence.ip, e.evidence.source_ref) for e in log] == [
        ("erase", None, "ticket 42")
    ]
    assert gone["subscriber"] is None and gone["suppressions"][0]["reason"] == "erased"
    # A later import of the same address is skipped, and says why.
    src = tmp_path / "again.csv"
    src.write_text("email\nann@example.com\n")
    report = import_file(
        engine, src, ImportOptions(ml, "consent"), now=now, error_path=tmp_path / "e.csv"
    )
    assert (report.added, report.skipped) == (0, 1)
    assert "suppressed (erased)" in (tmp_path / "e.csv").read_text()


def test_export_of_an_unknown_person(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(NotFound):
        export_person(conn, "nobody@example.com")
