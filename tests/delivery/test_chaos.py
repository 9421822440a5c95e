"""Crash safety: a worker SIGKILLed at random moments loses nobody.

A 20,000-recipient campaign is delivered by a real ``sendwell worker`` process into the
sandbox; the process is killed with SIGKILL at six random points and restarted each time.
At every kill, once the sandbox has seen the dead worker's connections close, the test
measures what was *in flight*: recipients the sandbox accepted whose delivery the
database had not yet recorded. Those — and only those — may be sent twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sendwell.app import open_app
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.service import create_campaign, get_campaign, start_campaign
from sendwell.config import Settings
from sendwell.delivery.worker import FLUSH_EVERY
from sendwell.sandbox import MxHost, ProviderProfile, Sandbox, SandboxConfig, SandboxThread
from sendwell.store.schema import outbox

RECIPIENTS = 20_000
KILLS = 6
CONCURRENCY = 30
SHAPING = """
[default]
connection_limit = 10
max_message_rate = "100000/s"
max_deliveries_per_connection = 200
[source_default]
max_message_rate = "100000/s"
"""


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkill_at_random_moments_loses_nobody_and_duplicates_stay_within_in_flight(
    tmp_path: Path,
) -> None:
    providers = tuple(
        ProviderProfile(
            name=name,
            domains=(f"{name}.sandbox",),
            mx_hosts=(MxHost(10, f"mx.{name}.sandbox", f"127.0.10.{i + 1}"),),
        )
        for i, name in enumerate(("north", "south", "east"))
    )
    record = tmp_path / "record.jsonl"
    sandbox = Sandbox(
        SandboxConfig(providers=providers, dns_records=(), dns_faults={}, dns_port=0, smtp_port=0),
        record_path=record,
    )
    (tmp_path / "shaping.toml").write_text(SHAPING)
    with SandboxThread(sandbox) as world:
        host, port = world.dns_address
        env_settings = {
            "SENDWELL_DATA_DIR": str(tmp_path / "data"),
            "SENDWELL_DNS_RESOLVER": f"{host}:{port}",
            "SENDWELL_SMTP_PORT": str(world.smtp_port),
            "SENDWELL_SHAPING_FILE": str(tmp_path / "shaping.toml"),
            "SENDWELL_SECRET_KEY": "chaos",
            "SENDWELL_HELO_NAME": "chaos.localhost",
            "SENDWELL_LEASE_SECONDS": "3",
            "SENDWELL_POLL_SECONDS": "0.2",
            "SENDWELL_WORKER_CONCURRENCY": str(CONCURRENCY),
            # One process, so SIGKILL hits the worker itself, not a supervisor.
            "SENDWELL_WORKER_PROCESSES": "1",
            "SENDWELL_LOG_LEVEL": "WARNING",
        }
        settings = Settings().replace(**{k[9:].lower(): v for k, v in env_settings.items()})
        app = open_app(settings, create=True)
        now = app.clock.now()
        emails = [f"r{i}@{providers[i % 3].name}.sandbox" for i in range(RECIPIENTS)]
        with app.engine.begin() as conn:
            ml = create_list(conn, "L", now=now)
            for start in range(0, RECIPIENTS, 5000):
                add_subscribers(
                    conn,
                    [NewSubscriber(e) for e in emails[start : start + 5000]],
                    mailing_list=ml,
                    now=now,
                )
            campaign = create_campaign(
                conn,
                name="chaos",
                subject="s",
                from_email="n@s.sandbox",
                from_name="",
                html_template="<p>x</p>",
                text_template=None,
                list_ids=[ml.id],
                now=now,
            )
            start_campaign(conn, campaign.id, now=now)

        env = {k: v for k, v in os.environ.items() if not k.startswith("SENDWELL_")}
        env.update(env_settings)

        def start_worker() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "sendwell", "worker"], env=env, cwd=tmp_path
            )

        def received() -> list[str]:
            if not record.exists():
                return []
            # The sandbox appends while we read: only complete lines count.
            complete = record.read_text().rpartition("\n")[0]
            return [json.loads(line)["rcpt"] for line in complete.splitlines()]

        def delivered_in_db() -> int:
            with app.engine.connect() as conn:
                return conn.execute(
                    select(func.count()).where(
                        outbox.c.campaign_id == campaign.id, outbox.c.status == "delivered"
                    )
                ).scalar_one()

        rng = random.Random(20_000)
        points = sorted(rng.sample(range(RECIPIENTS // 20, RECIPIENTS * 9 // 10), KILLS))
        in_flight: list[int] = []
        worker = start_worker()
        try:
            for point in points:
                _wait_until(lambda p=point: len(received()) >= p, 180, f"{point} deliveries")
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                _wait_until(
                    lambda: world.sandbox.open_sessions() == 0,
                    30,
                    "the dead worker's sessions to close",
                )
                in_flight.append(len(set(received())) - delivered_in_db())
                worker = start_worker()

            def finished() -> bool:
                with app.engine.connect() as conn:
                    return get_campaign(conn, campaign.id).state == "finished"

            _wait_until(finished, 300, "the campaign to finish")
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
            app.close()

    counts = Counter(received())
    lost = RECIPIENTS - len(counts)
    duplicates = sum(n - 1 for n in counts.values())
    bound = KILLS * (CONCURRENCY + FLUSH_EVERY)
    print(
        f"\nchaos: {KILLS} SIGKILLs at {points}; lost {lost}; duplicates {duplicates}; "
        f"in flight at the kills {in_flight} (sum {sum(in_flight)}); "
        f"theoretical bound {bound}"
    )
    assert lost == 0
    assert duplicates <= sum(in_flight)
    assert sum(in_flight) <= bound
