"""End-to-end send throughput into Postfix's smtp-sink, beside two baselines in the same run.

sendwell: a campaign of N recipients delivered by ``sendwell worker --processes P`` —
personalized rendering, MIME, RSA-2048 DKIM, direct-to-MX SMTP (MX records served by the
sandbox DNS server, all pointing at the sink), every outcome recorded in the outbox.

Baselines, into the same sink:
  (a) a naive loop: stdlib ``EmailMessage`` + dkimpy + ``smtplib`` over one connection;
  (b) Postfix's ``smtp-source`` (the SMTP path's physical limit on this machine).

Reports msgs/s, CPU µs per message (user + system of the worker processes) and the
largest worker process's peak RSS. The workers log one line per delivery attempt at INFO,
as in production (into a file, counted: every recipient must have one). The last line is
the JSON contract:
``{"benchmark": "send_throughput", "metrics": {...}, "baseline": {...}}``.

    .venv/bin/python benchmarks/send_throughput.py --recipients 40000

(Smaller campaigns understate steady-state throughput: each worker process spends about
half a second starting up.)

Set ``BENCH_PROFILE=/tmp/worker.txt`` to run one worker process under py-spy (collapsed
stacks, all threads) instead; add ``BENCH_GIL=1`` to sample only the thread holding the
GIL (Python work, without the RSA signing that runs outside it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from sendwell.app import open_app
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.service import campaign_status, create_campaign, start_campaign
from sendwell.config import Settings
from sendwell.domains.store import add_domain
from sendwell.sandbox import DnsRecord, DnsServer

SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"
SITES = 4
STOPPED = re.compile(r"worker (\d+) stopped: (\d+) attempts, \d+ delivered, peak RSS ([\d.]+) MB")
LOREM = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 40
HTML = f"""<html><body><h1>Hello {{{{ subscriber.first_name | default("there") }}}}</h1>
<p>This week's news for {{{{ subscriber.email }}}}: {{{{ campaign.name }}}}.</p>
<p>{LOREM}</p>
<p>{{{{ sender.organization }}}}, {{{{ sender.postal_address }}}} -
<a href="{{{{ unsubscribe_url }}}}">Unsubscribe</a></p>
</body></html>"""
SHAPING = """
[default]
connection_limit = 25
max_message_rate = "1000000/s"
max_connection_rate = "100000/s"
max_deliveries_per_connection = 1000
[source_default]
max_message_rate = "1000000/s"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[bytes]:
    args = [SINK]
    if os.geteuid() == 0:
        args += ["-u", "postfix"]
    proc = subprocess.Popen([*args, f"127.0.0.1:{port}", "1024"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("smtp-sink did not start")


class DnsThread:
    """The sandbox DNS server in a background thread (MX records for the benchmark)."""

    def __init__(self, records: list[DnsRecord]) -> None:
        self.server = DnsServer(records)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self.server.start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> tuple[str, int]:
        self._thread.start()
        self._ready.wait(10)
        return self.server.address

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def smtp_source(port: int, messages: int, size: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [SOURCE, "-s", "20", "-m", str(messages), "-l", str(size), f"127.0.0.1:{port}"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return messages / (time.perf_counter() - start)


def naive_loop(port: int, messages: int, key_pem: bytes) -> float:
    import dkim  # dkimpy: the baseline's signer

    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(messages):
            msg = EmailMessage()
            msg["From"] = "News <news@bench.sandbox>"
            msg["To"] = f"reader{i}@bench0.sandbox"
            msg["Subject"] = f"Hello reader {i}"
            msg.set_content(f"Hello reader {i}\n" + "Lorem ipsum dolor sit amet. " * 80)
            msg.add_alternative(HTML.replace("{{ subscriber.email }}", msg["To"]), subtype="html")
            data = msg.as_bytes()
            sig = dkim.sign(
                data,
                b"sw1",
                b"bench.sandbox",
                key_pem,
                include_headers=[b"from", b"to", b"subject"],
            )
            smtp.sendmail("bounce@bench.sandbox", [msg["To"]], sig + data)
    return messages / (time.perf_counter() - start)


def run_sendwell(port: int, recipients: int, processes: int, work: Path) -> dict[str, float]:
    records = []
    for k in range(SITES):
        records.append(DnsRecord(f"mx{k}.sink.sandbox", "A", "127.0.0.1"))
    domains = [f"bench{i}.sandbox" for i in range(50)]
    for i, d in enumerate(domains):
        records.append(DnsRecord(d, "MX", f"10 mx{i % SITES}.sink.sandbox."))
    (work / "shaping.toml").write_text(SHAPING)
    with DnsThread(records) as (host, dns_port):
        env_settings = {
            "SENDWELL_DATA_DIR": str(work / "data"),
            "SENDWELL_DNS_RESOLVER": f"{host}:{dns_port}",
            "SENDWELL_SMTP_PORT": str(port),
            "SENDWELL_SHAPING_FILE": str(work / "shaping.toml"),
            "SENDWELL_SECRET_KEY": "benchmark-secret",
            "SENDWELL_HELO_NAME": "bench.localhost",
            "SENDWELL_WORKER_CONCURRENCY": "100",
            "SENDWELL_WORKER_BATCH_SIZE": "1000",
            # As in production: one log line per delivery attempt (into a file here).
            "SENDWELL_LOG_LEVEL": "INFO",
            "SENDWELL_SENDER_ORGANIZATION": "Bench Ltd",
            "SENDWELL_SENDER_POSTAL_ADDRESS": "1 Loopback Road, 127001 Localhost",
        }
        settings = Settings().replace(**{k[9:].lower(): v for k, v in env_settings.items()})
        app = open_app(settings, create=True)
        now = app.clock.now()
        seed_start = time.perf_counter()
        with app.engine.begin() as conn:
            add_domain(
                conn,
                "bench.sandbox",
                selector="sw1",
                ed25519=False,
                secret_key=app.secret_key(),
                now=now,
            )
            ml = create_list(conn, "Bench", now=now)
            batch: list[NewSubscriber] = []
            for i in range(recipients):
                batch.append(
                    NewSubscriber(
                        f"reader{i}@{domains[i % len(domains)]}", f"Reader{i}" if i % 7 else None
                    )
                )
                if len(batch) == 10_000:
                    add_subscribers(conn, batch, mailing_list=ml, now=now)
                    batch = []
            add_subscribers(conn, batch, mailing_list=ml, now=now)
            subject = "Hello {{ subscriber.first_name | default('there') }}"
            campaign = create_campaign(
                conn,
                name="bench",
                subject=subject,
                from_email="news@bench.sandbox",
                from_name="News",
                html_template=HTML,
                text_template=None,
                list_ids=[ml.id],
                now=now,
            )
            start_campaign(conn, campaign.id, now=now)
        seeded = time.perf_counter() - seed_start
        env = {k: v for k, v in os.environ.items() if not k.startswith("SENDWELL_")}
        env.update(env_settings)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        command = [
            sys.executable,
            "-m",
            "sendwell",
            "worker",
            "--processes",
            str(processes),
            "--drain",
        ]
        if os.environ.get("BENCH_PROFILE"):  # one process under py-spy, for development
            command = [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--threads",
                *(["--gil"] if os.environ.get("BENCH_GIL") else []),
                "--format",
                "raw",
                "--rate",
                "250",
                "-o",
                os.environ["BENCH_PROFILE"],
                "--",
                sys.executable,
                "-m",
                "sendwell",
                "worker",
                "--processes",
                "1",
                "--drain",
            ]
        log_path = work / "worker.log"
        with log_path.open("wb") as log:
            subprocess.run(command, env=env, check=True, cwd=work, stderr=log)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        stops = [m.groups() for m in STOPPED.finditer(log_path.read_text())]
        for pid, attempts, rss in stops:
            print(f"worker {pid}: {attempts} attempts, peak RSS {rss} MB", file=sys.stderr)
        attempt_lines = sum(1 for line in log_path.open("rb") if b" attempt outbox=" in line)
        with app.engine.connect() as conn:
            status = campaign_status(conn, campaign.id)
        app.close()
    delivered = status.counts["delivered"]
    if delivered != recipients:
        raise SystemExit(f"only {delivered} of {recipients} delivered: {status.counts}")
    if attempt_lines < recipients:
        raise SystemExit(f"only {attempt_lines} attempt log lines for {recipients} recipients")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "msgs_per_s": round(recipients / elapsed, 1),
        "cpu_us_per_msg": round(cpu / recipients * 1e6, 1),
        # Each worker process's own peak (see sendwell.cli.worker.peak_rss_mb): the
        # children's ru_maxrss would report this benchmark's own size, copied at fork.
        "peak_rss_mb": max(float(rss) for _, _, rss in stops),
        "seconds": round(elapsed, 2),
        "seed_seconds": round(seeded, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=40_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--naive", type=int, default=1000, help="messages for baseline (a)")
    parser.add_argument("--source", type=int, default=20_000, help="messages for baseline (b)")
    args = parser.parse_args()
    for tool in (SINK, SOURCE):
        if not Path(tool).exists():
            raise SystemExit(f"{tool} is missing: install Debian's postfix (make system-deps)")
    work = Path(tempfile.mkdtemp(prefix="sendwell-bench-"))
    port = free_port()
    sink = start_sink(port)
    ok = False
    try:
        from sendwell.compose.dkim import generate_rsa_pem

        source_rate = smtp_source(port, args.source, 5000)
        naive_rate = naive_loop(port, args.naive, generate_rsa_pem())
        metrics = run_sendwell(port, args.recipients, args.processes, work)
        ok = True
    finally:
        sink.kill()
        sink.wait()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work} for inspection", file=sys.stderr)
    print(f"{'path':<44}{'msgs/s':>10}")
    print(
        f"{'sendwell end to end (' + str(args.processes) + ' processes, DKIM RSA-2048)':<44}"
        f"{metrics['msgs_per_s']:>10}"
    )
    print(f"{'(a) naive EmailMessage + dkimpy + smtplib':<44}{naive_rate:>10.1f}")
    print(f"{'(b) smtp-source (SMTP path limit)':<44}{source_rate:>10.1f}")
    print(
        f"sendwell: {args.recipients} recipients in {metrics['seconds']} s, "
        f"{metrics['cpu_us_per_msg']} CPU µs/msg, peak RSS {metrics['peak_rss_mb']} MB "
        f"(seeding took {metrics['seed_seconds']} s, not counted); "
        f"{metrics['msgs_per_s'] / naive_rate:.1f}x the naive loop"
    )
    print(
        json.dumps(
            {
                "benchmark": "send_throughput",
                "metrics": {**metrics, "recipients": args.recipients, "processes": args.processes},
                "baseline": {
                    "naive_msgs_per_s": round(naive_rate, 1),
                    "smtp_source_msgs_per_s": round(source_rate, 1),
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
