"""Benchmark of address verification: offline throughput and a DNS-backed bulk run.

Run: ``.venv/bin/python benchmarks/verify.py`` (``--quick`` for a smaller run).

1. Offline layers (syntax, disposable, role, free, typo, duplicate hints) over 100,000
   generated addresses, no network: addresses per second (target >= 20,000).
2. A 100,000-address list over 5,000 domains verified with DNS against the sandbox DNS
   server (run in its own process, as ``sendwell sandbox`` would be), in chunks of 5,000
   with the CLI's default concurrency: wall-clock seconds (target < 30). The domains mix
   MX, null MX, A-only and non-existent ones, and the run checks that each domain was
   resolved once.

Prints a table, then as the last line one JSON object
``{"benchmark": "verify", "metrics": {...}, "baseline": {...}}``.

``--accuracy`` instead scores the syntax verdicts (offline layers, ``invalid`` vs not)
on the public address test suites kept in ``tests/verify/data/*.jsonl`` and prints the
table that ``docs/verification.md`` shows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import sys
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sendwell.clock import SystemClock
from sendwell.sandbox.dns import DnsRecord, DnsServer
from sendwell.verify.bulk import Verifier
from sendwell.verify.domains import DomainChecker, parse_networks
from sendwell.verify.lists import ReferenceLists

BASELINE = {"addresses_per_s": 20_000, "dns_list_seconds": 30.0}
ZONE = "bench.sandbox"  # one zone: the sandbox DNS keys zones on the last two labels
FIRST = ["ann", "bob", "carol", "dave", "eve", "frank", "grace", "heidi", "ivan", "judy"]
LAST = ["smith", "jones", "lee", "garcia", "müller", "brown", "martin", "rossi"]
EXTRAS = [
    "info@example.com",
    "noreply@example.org",
    "x@mailinator.com",
    "bob@gmial.com",
    "ann@hotmial.com",
    "carol@yahooo.com",
    "dave@example.con",
    "not an address",
    "a..b@example.com",
    "用户@例子.广告",
    "ann@bücher.de",
    "",
]


def offline_addresses(n: int, rng: random.Random) -> list[str]:
    """Realistic-looking addresses: mostly people at many domains, with some bad ones."""
    out = []
    for i in range(n):
        if i % 20 == 0:
            out.append(rng.choice(EXTRAS))
            continue
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = rng.choice([f"{first}.{last}", f"{first}{i}", f"{first[0]}{last}+news"])
        domain = rng.choice(["gmail.com", "yahoo.com", "outlook.com", f"company{i % 3000}.com"])
        out.append(f"{local}@{domain}")
    return out


def dns_world(domains: int) -> tuple[list[DnsRecord], list[str]]:
    """Records for ``domains`` domains (80 % MX, 5 % null MX, 5 % A-only, 10 % absent)."""
    records: list[DnsRecord] = []
    names: list[str] = []
    for i in range(domains):
        name = f"d{i}.{ZONE}"
        names.append(name)
        kind = i % 20
        if kind < 16:
            host = f"mx{i % 500}.{ZONE}"  # hosting companies serve many domains each
            records.append(DnsRecord(name, "MX", f"10 {host}."))
        elif kind == 16:
            records.append(DnsRecord(name, "MX", "0 ."))
        elif kind == 17:
            records.append(DnsRecord(name, "A", f"127.0.{200 + i % 50}.{1 + i % 250}"))
        # 18, 19: no records at all -> NXDOMAIN
    for h in range(500):
        records.append(DnsRecord(f"mx{h}.{ZONE}", "A", f"127.0.{100 + h // 250}.{1 + h % 250}"))
    return records, names


def _serve_dns(records: list[DnsRecord], conn: Connection) -> None:
    async def main() -> None:
        async with DnsServer(records) as server:
            conn.send(server.address)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(main())


def bench_offline(n: int) -> tuple[float, Counter[str]]:
    addresses = offline_addresses(n, random.Random(5))
    verifier = Verifier(lists=ReferenceLists.build())
    started = time.perf_counter()
    results = []
    for start in range(0, n, 5000):
        results.extend(verifier.verify_offline(addresses[start : start + 5000]))
    elapsed = time.perf_counter() - started
    return n / elapsed, Counter(r.verdict for r in results)


def bench_dns(n: int, domains: int) -> tuple[float, Counter[str], int]:
    records, names = dns_world(domains)
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=_serve_dns, args=(records, child), daemon=True
    )
    server.start()
    try:
        address = parent.recv()
        rng = random.Random(9)
        addresses = [f"{rng.choice(FIRST)}{i}@{names[i % domains]}" for i in range(n)]
        rng.shuffle(addresses)
        checker = DomainChecker(
            address,
            clock=SystemClock(),
            timeout=5.0,
            allowed_networks=parse_networks("127.0.0.0/8"),
        )
        checks = frozenset({"syntax", "dns", "disposable", "role", "free", "typo"})
        verifier = Verifier(
            lists=ReferenceLists.build(), checks=checks, domains=checker, concurrency=50
        )

        async def run() -> list[str]:
            verdicts: list[str] = []
            for start in range(0, n, 5000):
                chunk = await verifier.verify_many(addresses[start : start + 5000])
                verdicts.extend(r.verdict for r in chunk)
            return verdicts

        started = time.perf_counter()
        verdicts = asyncio.run(run())
        elapsed = time.perf_counter() - started
    finally:
        parent.send("stop")
        server.join(10)
        if server.is_alive():
            server.kill()
    return elapsed, Counter(verdicts), checker.lookups


SUITES = Path(__file__).resolve().parents[1] / "tests" / "verify" / "data"


def accuracy(path: Path) -> tuple[int, int, list[tuple[str, str, str]]]:
    """(correct, total, mistakes) of the offline verdict on one JSON-lines suite."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    cases = [c for c in lines if "address" in c]
    verifier = Verifier(lists=ReferenceLists.build(), checks=frozenset({"syntax"}))
    results = verifier.verify_offline([c["address"] for c in cases])
    mistakes = []
    for case, result in zip(cases, results, strict=True):
        got = "invalid" if result.verdict == "invalid" else "valid"
        if got != case["expected"]:
            mistakes.append((case["address"], case["expected"], ",".join(result.reasons)))
    return len(cases) - len(mistakes), len(cases), mistakes


def main_accuracy() -> None:
    metrics: dict[str, float] = {}
    print(f"{'suite':<28} {'cases':>6} {'correct':>8} {'accuracy':>9}")
    for path in sorted(SUITES.glob("*.jsonl")):
        correct, total, mistakes = accuracy(path)
        metrics[path.stem] = round(100 * correct / total, 1)
        print(f"{path.stem:<28} {total:>6} {correct:>8} {100 * correct / total:>8.1f}%")
        for address, expected, reasons in mistakes:
            print(f"    expected {expected:<7} got {reasons or 'valid':<22} {address[:60]!a}")
    print(json.dumps({"benchmark": "verify-accuracy", "metrics": metrics, "baseline": {}}))


HOSTILE = [
    "",  # empty line
    "nul\x00byte@example.com",
    "x" * 10_240 + "@example.com",  # 10 KB local part
    "ann\u202e@example.com",  # bidi override
    "ann@\u0440\u0430ypal.com",  # Cyrillic look-alike letters
    "no-at-sign",
    "ann@@example.com",
]


def bench_hostile_file(rows: int) -> tuple[float, float, int]:
    """The real CLI over a ``rows``-line file with a hostile line every 50 lines.

    Returns (seconds, peak RSS MB of the CLI process, output rows). The CLI must finish
    (no hang: a timeout fails the run) and write one result row per input line.
    """
    import os
    import resource
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    work = Path(tempfile.mkdtemp(prefix="sendwell-verify-"))
    source = work / "people.csv"
    with source.open("w", encoding="utf-8", newline="") as fh:
        fh.write("email\n")
        for i in range(rows):
            hostile = HOSTILE[(i // 50) % len(HOSTILE)]
            fh.write((hostile if i % 50 == 49 else f"user{i}@example{i % 997}.com") + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENDWELL_")}
    env["SENDWELL_DATA_DIR"] = str(work / "data")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sendwell", "verify", str(source), "-o", str(work / "out.csv"),
         "--checks", "syntax,disposable,role,typo"],
        env=env, check=True, timeout=600, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with (work / "out.csv").open(encoding="utf-8") as fh:
        written = sum(1 for _ in fh) - 1  # header
    shutil.rmtree(work, ignore_errors=True)
    return seconds, peak, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller run")
    parser.add_argument("--accuracy", action="store_true", help="score public test suites")
    args = parser.parse_args()
    if args.accuracy:
        main_accuracy()
        return
    scale = 10 if args.quick else 1
    n_offline, n_dns, n_domains = 100_000 // scale, 100_000 // scale, 5_000 // scale

    per_s, offline_verdicts = bench_offline(n_offline)
    seconds, dns_verdicts, lookups = bench_dns(n_dns, n_domains)
    n_hostile = 1_000_000 // scale
    hostile_s, hostile_rss, hostile_rows = bench_hostile_file(n_hostile)
    if hostile_rows != n_hostile:
        raise SystemExit(f"the CLI wrote {hostile_rows} rows for {n_hostile} input lines")

    print(f"{'measure':<44} {'value':>12} {'target':>10}")
    offline_label = f"offline addresses/s ({n_offline} addresses)"
    dns_label = f"DNS run seconds ({n_dns} addr, {n_domains} domains)"
    print(f"{offline_label:<44} {per_s:>12,.0f} {'>= 20,000':>10}")
    print(f"{dns_label:<44} {seconds:>12.2f} {'< 30':>10}")
    print(f"{'domains resolved (lookups)':<44} {lookups:>12} {n_domains:>10}")
    hostile_label = f"CLI over {n_hostile} lines, 1 in 50 hostile (s)"
    print(f"{hostile_label:<44} {hostile_s:>12.1f} {'finishes':>10}")
    print(f"{'  one result row per line; peak RSS MB':<44} {hostile_rss:>12.0f}")
    print(f"offline verdicts: {dict(offline_verdicts)}")
    print(f"DNS verdicts:     {dict(dns_verdicts)}")
    metrics = {
        "addresses_per_s": round(per_s),
        "dns_list_seconds": round(seconds, 2),
        "dns_addresses": n_dns,
        "dns_domains": n_domains,
        "dns_domain_lookups": lookups,
        "hostile_file_rows": hostile_rows,
        "hostile_file_seconds": round(hostile_s, 1),
        "hostile_file_peak_rss_mb": round(hostile_rss),
    }
    print(json.dumps({"benchmark": "verify", "metrics": metrics, "baseline": BASELINE}))


if __name__ == "__main__":
    main()
