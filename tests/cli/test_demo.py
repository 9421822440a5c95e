"""``sendwell demo --exit``: the headless demo that scripts (and `make demo`) run."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.cli.conftest import Run


@pytest.mark.slow
def test_headless_demo_delivers_and_exits(run: Run, tmp_path: Path) -> None:
    result = run("demo", "--recipients", "400", "--exit", timeout=240)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout.strip().splitlines()[-1])
    counts = status["counts"]
    assert status["state"] == "finished"
    assert counts["queued"] == counts["deferred"] == 0
    assert counts["suppressed"] == 1
    assert counts["bounced"] > 0  # some demo recipients are unknown mailboxes
    assert sum(counts.values()) == 401
    record = (tmp_path / "data" / "demo" / "sandbox-record.jsonl").read_text().splitlines()
    received = Counter(json.loads(line)["rcpt"] for line in record)
    assert sum(received.values()) == counts["delivered"]
    assert max(received.values()) == 1  # nobody got the message twice
    assert len({json.loads(line)["provider"] for line in record}) == 6
