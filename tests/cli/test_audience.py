"""The audience commands as a user types them: import, show, suppressions, segments, erase."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.cli.conftest import Run


def test_audience_commands(run: Run, tmp_path: Path) -> None:
    assert run("init").returncode == 0
    assert run("lists", "create", "News").returncode == 0
    people = tmp_path / "people.csv"
    people.write_text(
        "email,first_name,plan\nann@example.com,Ann,pro\nbroken,X,free\n"
        'bob@example.com,Bob,"=HYPERLINK(""http://evil"")"\n'
    )
    refused = run("subscribers", "import", str(people), "--list", "News")
    assert refused.returncode == 1 and "lawful basis" in refused.stderr
    imported = run(
        "subscribers",
        "import",
        str(people),
        "--list",
        "News",
        "--basis",
        "consent",
        "--wording",
        "Yes, weekly news",
        "--wording-version",
        "v2",
    )
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 new, 0 updated, 1 rejected" in imported.stdout
    assert "line 3: invalid address" in imported.stdout
    errors = list(csv.reader((tmp_path / "people.csv.errors.csv").read_text().splitlines()))
    assert errors[1][:2] == ["3", errors[1][1]] and errors[1][1].startswith("invalid address")

    shown = run("subscribers", "show", "ann@example.com")
    assert shown.returncode == 0, shown.stderr
    assert "import" in shown.stdout and "consent" in shown.stdout and "v2" in shown.stdout

    assert run("suppressions", "add", "bob@example.com", "--reason", "complaint").returncode == 0
    listed = run("suppressions", "list")
    assert "complaint" in listed.stdout
    export = tmp_path / "supp.csv"
    assert run("suppressions", "export", str(export)).returncode == 0
    rows = list(csv.reader(export.read_text().splitlines()))
    assert rows[0][0] == "email_hash" and rows[1][2] == "complaint"
    more = tmp_path / "more.txt"
    more.write_text("email\ncy@example.com\nnot an address\n")
    added = run("suppressions", "import", str(more), "--reason", "manual")
    assert "1 suppressed, 0 already were, 1 rejected" in added.stdout
    assert run("suppressions", "remove", "cy@example.com").returncode == 0

    seg = run("segments", "create", "Pro", "--filter", '{"attr": "plan", "value": "pro"}')
    assert seg.returncode == 0, seg.stderr
    assert "1 subscribers match now" in seg.stdout
    bad = run("segments", "create", "Bad", "--filter", '{"attr": "plan", "op": "~"}')
    assert bad.returncode == 1 and "unknown operator" in bad.stderr
    assert "1 subscribers match" in run("segments", "count", "Pro").stdout

    exported = run("subscribers", "export", "ann@example.com")
    assert json.loads(exported.stdout)["subscriber"]["first_name"] == "Ann"
    assert run("subscribers", "erase", "ann@example.com").returncode == 1  # needs --yes
    erased = run("subscribers", "erase", "ann@example.com", "--yes")
    assert erased.returncode == 0, erased.stderr
    after = run("subscribers", "show", "ann@example.com")
    assert "no subscriber record" in after.stdout and "erase" in after.stdout
