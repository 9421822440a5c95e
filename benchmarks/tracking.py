"""Open-pixel and click-redirect throughput with every event persisted.

A campaign of N recipients is seeded (delivered an hour ago) in a fresh SQLite data
directory; a server process (uvicorn, one process, the production application of
``sendwell serve``: ``create_app`` with its middleware and every router) serves it on
loopback, and ``wrk`` (Debian package) drives it from a second
process: half the requests open pixels, half clicks, spread over every recipient and link,
with a browser user agent. After the run the server is stopped and the events in the
database are counted: each 200/302 answer must have its event (``events_persisted`` >=
answered requests; wrk may abandon a few in-flight requests at the end, which the server
may still have stored).

Baseline, same server and client: forged tokens (404, nothing stored) — the HTTP path's
cost without the database.

    .venv/bin/python benchmarks/tracking.py --seconds 10 --connections 64

The last line is the JSON contract:
``{"benchmark": "tracking", "metrics": {"requests_per_s", "p99_ms", "errors",
"events_persisted", ...}, "baseline": {...}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
KEY = "bench-secret-key"
HTML = (
    "<html><body><p>Hi {{ subscriber.first_name }}</p>"
    + "".join(f'<a href="https://example.com/article/{i}">Article {i}</a> ' for i in range(5))
    + '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
    "<p>{{ sender.organization }}, {{ sender.postal_address }}</p></body></html>"
)
LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local n = 0
wrk.headers["User-Agent"] = "%(ua)s"
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
"""


def _settings(data: Path):  # type: ignore[no-untyped-def]
    from sendwell.config import Settings

    return Settings().replace(data_dir=data, secret_key=KEY, public_url="http://bench")


def seed(data: Path, recipients: int) -> list[str]:
    """Seed the campaign; return the request paths (opens and clicks, interleaved)."""
    from sqlalchemy import update

    from sendwell.app import open_app
    from sendwell.audience.lists import create_list
    from sendwell.audience.records import NewSubscriber
    from sendwell.audience.subscribers import add_subscribers
    from sendwell.campaigns.sender import SenderDefaults, set_campaign_settings
    from sendwell.campaigns.service import create_campaign, start_campaign
    from sendwell.store.schema import outbox
    from sendwell.tracking.allowlist import register_links
    from sendwell.tracking.rewrite import tracked_links
    from sendwell.tracking.tokens import ClickRef, Keyring, sign, sign_click

    app = open_app(_settings(data), create=True)
    now = app.clock.now()
    with app.engine.begin() as conn:
        ml = create_list(conn, "Bench", now=now)
        people = [NewSubscriber(f"r{i}@gmail.sandbox", f"R{i}") for i in range(recipients)]
        add_subscribers(conn, people, mailing_list=ml, now=now)
        c = create_campaign(
            conn, name="bench", subject="Hi", from_email="news@example.com", from_name="N",
            html_template=HTML, text_template=None, list_ids=[ml.id], now=now,
        )  # fmt: skip
        set_campaign_settings(conn, c.id, organization="Bench Inc.", postal_address="1 Main St")
        start_campaign(conn, c.id, now=now, defaults=SenderDefaults(frequency_cap_count=0))
        conn.execute(
            update(outbox)
            .where(outbox.c.campaign_id == c.id)
            .values(status="delivered", attempts=1, done_at=now - timedelta(hours=1))
        )
        links = register_links(conn, c.id, tracked_links(HTML))
        ids = list(conn.execute(outbox.select().with_only_columns(outbox.c.id)).scalars())
    app.close()
    ring = Keyring.of(KEY.encode())
    paths = []
    for i, oid in enumerate(ids):
        paths.append(f"/o/{sign('o', oid, ring)}.gif")
        number = i % len(links)
        paths.append(f"/c/{sign_click(ClickRef(oid, c.id, number), ring)}")
    return paths


def serve(data: Path, port: int) -> None:
    """The server process: the application ``sendwell serve`` runs (until SIGINT/SIGTERM)."""
    import uvicorn

    from sendwell.app import open_app
    from sendwell.web.app import create_app
    from sendwell.web.server import freeze_startup_objects

    web = create_app(open_app(_settings(data)))
    # SO_REUSEPORT: several server processes share the port; the kernel spreads connections.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    config = uvicorn.Config(
        web, log_level="warning", access_log=False, loop="uvloop", http="httptools"
    )
    server = uvicorn.Server(config)
    freeze_startup_objects()  # as ``sendwell serve`` does
    server.run(sockets=[sock])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)  # start-up poll in a benchmark harness, not a test
    raise RuntimeError("server did not start")


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if m is None:
        raise ValueError(text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(
    port: int, paths_file: Path, work: Path, seconds: int, connections: int
) -> dict[str, float]:
    script = work / "paths.lua"
    script.write_text(LUA % {"paths": paths_file, "ua": UA})
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = done.stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(x) for x in sock.groups()) if sock else 0
    return {
        "requests": requests,
        "requests_per_s": round(rate, 1),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "non_2xx_3xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": socket_errors,
    }


def count_events(data: Path) -> int:
    from sqlalchemy import func, select

    from sendwell.app import open_app
    from sendwell.store.schema import events

    app = open_app(_settings(data))
    try:
        with app.engine.connect() as conn:
            kinds = ("open", "open_machine", "click", "click_machine")
            q = select(func.count()).select_from(events).where(events.c.kind.in_(kinds))
            return int(conn.execute(q).scalar_one())
    finally:
        app.close()


def run_servers(data: Path, port: int, processes: int) -> list[subprocess.Popen[bytes]]:
    procs = []
    for _ in range(processes):
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(data), "--port", str(port)],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        )
        procs.append(proc)
        _wait_listening(port, proc)
    return procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=5000, help="recipients seeded")
    parser.add_argument("--seconds", type=int, default=10, help="duration of the main run")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections")
    parser.add_argument("--processes", type=int, default=1, help="server processes")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.port)
        return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="sendwell-bench-tracking-"))
    try:
        data = work / "data"
        paths = seed(data, args.recipients)
        paths_file = work / "paths.txt"
        paths_file.write_text("\n".join(paths) + "\n")
        forged_file = work / "forged.txt"
        forged_file.write_text(
            "\n".join(p[:-6] + ("0" if p[-6] != "0" else "1") + p[-5:] for p in paths[:1000]) + "\n"
        )
        port = _free_port()
        procs = run_servers(data, port, args.processes)
        try:
            wrk(port, paths_file, work, 2, args.connections)  # warm-up (counted in events)
            warm = count_events(data)
            main_run = wrk(port, paths_file, work, args.seconds, args.connections)
            base = wrk(port, forged_file, work, max(3, args.seconds // 3), args.connections)
        finally:
            stop(procs)
        persisted = count_events(data) - warm
    finally:
        shutil.rmtree(work, ignore_errors=True)
    errors = int(main_run["socket_errors"] + main_run["non_2xx_3xx"])
    answered = int(main_run["requests"]) - int(main_run["non_2xx_3xx"])
    print(f"{'run':<44}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    print(f"{'opens + clicks, every event persisted':<44}{main_run['requests_per_s']:>10}"
          f"{main_run['p50_ms']:>9}{main_run['p99_ms']:>9}{errors:>8}")  # fmt: skip
    print(f"{'baseline: forged tokens (404, no database)':<44}{base['requests_per_s']:>10}"
          f"{base['p50_ms']:>9}{base['p99_ms']:>9}{int(base['socket_errors']):>8}")  # fmt: skip
    print(f"answered {answered} requests, {persisted} events persisted "
          f"({'all persisted' if persisted >= answered else 'EVENTS MISSING'})")  # fmt: skip
    print(
        json.dumps(
            {
                "benchmark": "tracking",
                "metrics": {
                    "requests_per_s": main_run["requests_per_s"],
                    "p50_ms": main_run["p50_ms"],
                    "p99_ms": main_run["p99_ms"],
                    "errors": errors,
                    "requests": int(main_run["requests"]),
                    "events_persisted": persisted,
                    "all_persisted": persisted >= answered,
                    "connections": args.connections,
                    "server_processes": args.processes,
                    "seconds": args.seconds,
                },
                "baseline": {
                    "forged_404_requests_per_s": base["requests_per_s"],
                    "forged_404_p99_ms": base["p99_ms"],
                },
            }
        )
    )
    return 0 if errors == 0 and persisted >= answered else 1


if __name__ == "__main__":
    sys.exit(main())
