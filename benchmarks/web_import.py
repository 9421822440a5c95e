"""Benchmark: what importing through the web costs over importing directly.

Generates one CSV (names, two attributes, 0.5% invalid addresses) and imports it twice
into fresh SQLite databases: (a) with ``audience.importer.import_file`` as
``sendwell subscribers import`` does, (b) through ``POST /api/v1/imports`` in process
(multipart upload, stored to disk, the mapping checked against the header, the import
run as a background job writing its progress at most twice a second), until the job is
finished. Both run in this process, so the ratio (b)/(a) is measured under the same load.

Reported: wall seconds, CPU seconds (this process and its children: big files are
parsed in a child process) and rows/s for both, and the overhead ratio. The last line
is JSON: ``{"benchmark": "web_import", "metrics": {...}, "baseline": {...}}``.

Usage: ``python benchmarks/web_import.py [--rows N] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from sendwell.accounts.tokens import create_token
from sendwell.app import App
from sendwell.audience.importer import ImportOptions, import_file
from sendwell.audience.lists import create_list
from sendwell.clock import SystemClock
from sendwell.config import Secret, Settings
from sendwell.store.engine import create_db_engine
from sendwell.store.migrate import upgrade
from sendwell.web.app import create_app
from sendwell.web.runner import JobRunner


def generate(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("email,first_name,last_name,plan,age\n")
        for i in range(rows):
            email = f"not-an-address-{i}" if i % 200 == 199 else f"user{i}@example{i % 97}.com"
            fh.write(f"{email},First{i},Last{i % 1000},{'pro' if i % 3 else 'free'},{i % 80}\n")


def cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(run: Callable[[], None]) -> tuple[float, float]:
    wall, used = time.perf_counter(), cpu()
    run()
    return time.perf_counter() - wall, cpu() - used


def app_in(root: Path) -> App:
    root.mkdir()
    engine = create_db_engine(f"sqlite:///{root / 'sendwell.db'}")
    upgrade(engine)
    settings = Settings().replace(
        data_dir=root / "data", secret_key=Secret("b" * 32), web_max_upload_bytes=2**31
    )
    return App(settings=settings, engine=engine, clock=SystemClock())


def direct(root: Path, csv_file: Path) -> None:
    a = app_in(root)
    with a.engine.begin() as conn:
        ml = create_list(conn, "News", now=a.clock.now())
    options = ImportOptions(mailing_list=ml, lawful_basis="consent")
    import_file(a.engine, csv_file, options, now=a.clock.now(), error_path=root / "errors.csv")


def through_web(root: Path, csv_file: Path) -> None:
    a = app_in(root)
    with a.engine.begin() as conn:
        ml = create_list(conn, "News", now=a.clock.now())
        _, secret = create_token(conn, "bench", ["subscribers:write"], now=a.clock.now())
    auth = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(a)) as client, csv_file.open("rb") as fh:
        r = client.post(
            "/api/v1/imports", files={"file": ("people.csv", fh, "text/csv")},
            data={"list_id": str(ml.id), "basis": "consent"}, headers=auth,
        )  # fmt: skip
        if r.status_code != 202:
            raise SystemExit(f"upload refused: {r.status_code} {r.text}")
        runner: JobRunner = client.app.state.sendwell_jobs  # type: ignore[attr-defined]
        runner.wait(r.json()["id"], timeout=3600)
        state = client.get(f"/api/v1/imports/{r.json()['id']}", headers=auth).json()
    if state["state"] != "finished":
        raise SystemExit(f"import did not finish: {state}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        csv_file = root / "people.csv"
        generate(csv_file, args.rows)
        a_wall, a_cpu = measure(lambda: direct(root / "direct", csv_file))
        b_wall, b_cpu = measure(lambda: through_web(root / "web", csv_file))
    rows = args.rows
    print(f"{'path':<10}{'wall s':>10}{'cpu s':>10}{'rows/s':>12}")
    print(f"{'direct':<10}{a_wall:>10.2f}{a_cpu:>10.2f}{rows / a_wall:>12,.0f}")
    print(f"{'web':<10}{b_wall:>10.2f}{b_cpu:>10.2f}{rows / b_wall:>12,.0f}")
    print(f"web/direct: wall x{b_wall / a_wall:.2f}, cpu x{b_cpu / a_cpu:.2f}")
    print(json.dumps({
        "benchmark": "web_import", "rows": rows,
        "metrics": {"wall_s": round(b_wall, 3), "cpu_s": round(b_cpu, 3),
                    "rows_per_s": round(rows / b_wall), "cpu_ratio": round(b_cpu / a_cpu, 3)},
        "baseline": {"wall_s": round(a_wall, 3), "cpu_s": round(a_cpu, 3),
                     "rows_per_s": round(rows / a_wall)},
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
