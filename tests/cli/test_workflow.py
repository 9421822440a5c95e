"""The five-minute tour from the README, run as a user would type it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run


def test_tour_up_to_a_started_campaign(run: Run, tmp_path: Path) -> None:
    assert run("init").returncode == 0
    assert run("lists", "create", "News", "--description", "Weekly news").returncode == 0
    added = run(
        "subscribers",
        "add",
        "ann@example.com",
        "--list",
        "News",
        "--first-name",
        "Ann",
        "--attr",
        "plan=pro",
    )
    assert added.returncode == 0, added.stderr
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "\ufeffEmail,First_Name,city\nbob@example.com,Bob,Oslo\n"
        "broken-address,X,Y\ncy@example.org,,Rome\n",
        encoding="utf-8",
    )
    imported = run("subscribers", "import", str(csv_file), "--list", "News", "--basis", "consent")
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 new, 0 updated, 1 rejected" in imported.stdout
    assert "line 3" in imported.stdout
    assert run("suppressions", "add", "cy@example.org").returncode == 0
    (tmp_path / "news.html").write_text('<p>Hi {{ subscriber.first_name | default("there") }}</p>')
    created = run(
        "campaigns",
        "create",
        "--subject",
        "News",
        "--from",
        "news@example.com",
        "--list",
        "News",
        "--html",
        str(tmp_path / "news.html"),
    )
    assert created.returncode == 0, created.stderr
    assert run("campaigns", "start", "1").returncode == 0
    status = run("campaigns", "status", "1", "--json")
    assert json.loads(status.stdout) == {
        "campaign": 1,
        "state": "running",
        "counts": {
            "queued": 2,
            "deferred": 0,
            "delivered": 0,
            "bounced": 0,
            "expired": 0,
            "suppressed": 1,
            "excluded": 0,
            "skipped": 0,
            "cancelled": 0,
            "failed": 0,
        },
    }
    shown = run("config", "show", "--json", env={"SENDWELL_SECRET_KEY": "s3cret"})
    rows = {r["name"]: r for r in json.loads(shown.stdout)}
    assert rows["secret_key"]["value"] == "**********" and rows["secret_key"]["source"] == "env"
    assert "s3cret" not in shown.stdout
