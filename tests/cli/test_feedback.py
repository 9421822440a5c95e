"""``sendwell feedback parse`` — the stable JSON contract, batch mode, errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run

CORPUS = Path(__file__).parents[1] / "feedback" / "corpus"


def test_parse_json_contract(run: Run) -> None:
    done = run("feedback", "parse", str(CORPUS / "flufl-sendmail-02.eml"), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc == {
        "kind": "bounce",
        "recipients": [
            {
                "address": "foo@rbd.spb.ru",
                "action": "failed",
                "status": "5.1.1",
                "classification": "hard",
                "reason": "mailbox_unknown",
                "diagnostic": "550 5.1.1 User unknown",
            }
        ],
        "outbox_id": None,
    }


def test_parse_batch_one_line_per_path(run: Run) -> None:
    paths = sorted(str(p) for p in CORPUS.glob("*.eml"))
    done = run("feedback", "parse", "--batch", stdin="\n".join([*paths, "/no/such.eml"]) + "\n")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["path"] for line in lines] == [*paths, "/no/such.eml"]
    assert {line["kind"] for line in lines[:-1]} >= {"bounce", "complaint"}
    assert lines[-1]["kind"] == "unknown" and "does not exist" in lines[-1]["error"]


def test_parse_missing_file_is_a_one_line_error(run: Run) -> None:
    done = run("feedback", "parse", "/no/such.eml", "--json")
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: ")
    assert len(done.stderr.strip().splitlines()) == 1


def test_ingest_applies_a_bounce(run: Run, tmp_path: Path) -> None:
    env = {"SENDWELL_SECRET_KEY": "k"}
    assert run("init", env=env).returncode == 0
    done = run("feedback", "ingest", str(CORPUS / "flufl-sendmail-02.eml"), env=env)
    assert done.returncode == 0, done.stderr
    # Not signed with this installation's key: nobody is suppressed.
    assert "no action" in done.stdout
