"""The accuracy table in docs/verification.md stays true: re-score the public suites."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_documented_accuracy_is_reproduced() -> None:
    spec = importlib.util.spec_from_file_location("bench_verify", ROOT / "benchmarks/verify.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    doc = (ROOT / "docs" / "verification.md").read_text(encoding="utf-8")
    suites = sorted((ROOT / "tests/verify/data").glob("*.jsonl"))
    assert suites
    for path in suites:
        correct, total, _ = bench.accuracy(path)
        row = re.search(rf"^\| `{path.stem}` \| (\d+) \| (\d+) \| ([\d.]+) %", doc, re.M)
        assert row is not None, f"{path.stem} missing from the accuracy table"
        assert (int(row[1]), int(row[2])) == (total, correct)
        assert float(row[3]) == round(100 * correct / total, 1)
