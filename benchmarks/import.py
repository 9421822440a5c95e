"""Benchmark: import a generated 1,000,000-row CSV into SQLite, then count a segment.

The CSV has a header, names and two attributes; 1% of rows repeat an earlier address in
another spelling (dedupe) and 0.5% are not addresses (syntax check), so both paths do
real work. The import runs through ``audience.importer.import_file`` exactly as
``sendwell subscribers import`` does (consent entry per row, error file). Then a segment
(list member AND plan = pro AND age > 30) is counted over the million subscribers.

Reported: rows/s of the import (file read to last commit), peak RSS of this process
(``ru_maxrss``; generation streams to disk so it does not inflate it), and the segment
count time. Because wall-clock figures depend on what else runs on the machine, the CPU
seconds of the writing process and of the parsing child are reported too (per million
rows they are the steadier measure on a shared machine). Baseline: listmonk's maintainer
cites ~10,000 rows/s for its importer.

Usage: ``python benchmarks/import.py [--rows N] [--dir DIR]``; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sendwell.audience.importer import ImportOptions, import_file
from sendwell.audience.lists import create_list
from sendwell.audience.segments import count_matching
from sendwell.store.engine import create_db_engine
from sendwell.store.migrate import upgrade


def generate(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("email,first_name,last_name,plan,age\n")
        for i in range(rows):
            if i % 200 == 199:
                email = f"not-an-address-{i}"
            elif i % 100 == 50 and i > 1000:
                email = f"USER{i - 1000}@Example{(i - 1000) % 97}.COM"
            else:
                email = f"user{i}@example{i % 97}.com"
            plan = "pro" if i % 3 == 0 else "free"
            fh.write(f"{email},First{i},Last{i % 1000},{plan},{18 + i % 60}\n")


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="Work directory (default: temp).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        src = work / "people.csv"
        started = time.perf_counter()
        generate(src, args.rows)
        gen_s = time.perf_counter() - started
        engine = create_db_engine(f"sqlite:///{work / 'bench.db'}")
        upgrade(engine)
        now = datetime.now(UTC)
        with engine.begin() as conn:
            ml = create_list(conn, "Bench", now=now)
        cpu_self, cpu_children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        report = import_file(
            engine,
            src,
            ImportOptions(ml, "consent", wording="Benchmark", wording_version="1"),
            now=now,
            error_path=work / "errors.csv",
        )
        import_s = time.perf_counter() - started
        cpu_self = _cpu(resource.RUSAGE_SELF) - cpu_self
        cpu_children = _cpu(resource.RUSAGE_CHILDREN) - cpu_children
        segment = {
            "all": [
                {"list": ml.id},
                {"attr": "plan", "op": "=", "value": "pro"},
                {"attr": "age", "op": ">", "value": 30},
            ]
        }
        with engine.connect() as conn:
            count_matching(conn, {"list": ml.id}, now=now)  # warm the page cache once
            started = time.perf_counter()
            matched = count_matching(conn, segment, now=now)
            segment_s = time.perf_counter() - started
        engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    metrics = {
        "rows": args.rows,
        "rows_per_s": round(args.rows / import_s),
        "import_s": round(import_s, 2),
        "writer_cpu_s": round(cpu_self, 2),
        "parser_cpu_s": round(cpu_children, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "segment_count_s": round(segment_s, 3),
        "segment_matched": matched,
        "added": report.added,
        "rejected": report.rejected,
        "generate_s": round(gen_s, 2),
    }
    print(f"{'measure':<28}{'value':>14}{'target':>14}")
    print(f"{'import rows/s':<28}{metrics['rows_per_s']:>14}{'>= 50000':>14}")
    print(f"{'peak RSS (MB)':<28}{metrics['peak_rss_mb']:>14}{'< 300':>14}")
    print(f"{'segment count (s)':<28}{metrics['segment_count_s']:>14}{'< 1':>14}")
    print(f"CPU: writer {metrics['writer_cpu_s']} s, parser (child) {metrics['parser_cpu_s']} s")
    print(
        f"{args.rows} rows: {report.added} added, {report.rejected} rejected "
        f"(duplicates + invalid) in {import_s:.1f} s; segment matched {matched}"
    )
    print(
        json.dumps(
            {
                "benchmark": "import",
                "metrics": metrics,
                "baseline": {"listmonk_rows_per_s": 10000},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
