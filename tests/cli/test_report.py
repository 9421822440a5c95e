"""``sendwell report``: tables, JSON, CSV, charts, reputation, one-line errors."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

from sendwell.store.engine import create_db_engine
from tests.cli.conftest import Run
from tests.reports.helpers import known_campaign


def _seeded(run: Run, tmp_path: Path) -> int:
    assert run("init").returncode == 0
    engine = create_db_engine(f"sqlite:///{tmp_path / 'data' / 'sendwell.db'}")
    try:
        return known_campaign(engine, datetime.now(UTC)).campaign_id
    finally:
        engine.dispose()


def test_report_outputs(run: Run, tmp_path: Path) -> None:
    cid = _seeded(run, tmp_path)
    done = run("report", str(cid))
    assert done.returncode == 0, done.stderr
    for text in ("delivered", "engagement", "shop.example.com/sale", "google.sandbox"):
        assert text in done.stdout
    doc = json.loads(run("report", str(cid), "--json").stdout)
    assert doc["delivery"]["bounced_hard"] == 1 and doc["clicks"]["unique"] == 2
    done = run("report", str(cid), "--csv", "r.csv", "--charts", "charts", "--step", "day")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((tmp_path / "r.csv").read_text().splitlines()))
    assert {"section": "delivery", "key": "", "metric": "delivered", "value": "8"} in rows
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == [
        "delivery.svg", "funnel.svg", "links.svg", "sites.svg",
    ]  # fmt: skip


def test_reputation(run: Run, tmp_path: Path) -> None:
    cid = _seeded(run, tmp_path)
    doc = json.loads(run("report", "reputation", "--json").stdout)
    assert doc["target"] == 0.001 and doc["ceiling"] == 0.003
    (row,) = doc["campaigns"]
    assert row["campaign"] == cid and row["complaint_verdict"] == "over"
    table = run("report", "reputation")
    assert table.returncode == 0 and "over" in table.stdout


def test_errors_are_one_line(run: Run, tmp_path: Path) -> None:
    _seeded(run, tmp_path)
    for args in (("report", "99"), ("report", "abc"), ("report", "1", "--step", "week")):
        done = run(*args)
        assert done.returncode == 1 and done.stderr.startswith("error:"), args
        assert len(done.stderr.strip().splitlines()) == 1
