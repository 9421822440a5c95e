"""Scale-out: two worker processes on PostgreSQL + Redis share one queue and one set of limits.

The sandbox record judges: every recipient exactly once, the throttled site's combined
rate within its limit and its simultaneous sessions within its connection limit, although
two processes were sending to it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from sendwell.app import open_app
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.service import campaign_status, create_campaign, start_campaign
from sendwell.config import Settings
from sendwell.sandbox import MxHost, ProviderProfile, Sandbox, SandboxConfig, SandboxThread

SHAPING = """
[default]
connection_limit = 10
max_message_rate = "100000/s"
[source_default]
max_message_rate = "100000/s"
[[provider]]
name = "shared"
match = [".shared.sandbox"]
connection_limit = 4
max_message_rate = "30/s"
"""


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_two_workers_on_postgres_and_redis_send_everyone_once_within_the_limits(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    providers = (
        ProviderProfile(
            name="shared",
            domains=("shared.sandbox",),
            mx_hosts=(MxHost(10, "mx.shared.sandbox", "127.0.11.1"),),
        ),
        ProviderProfile(
            name="open",
            domains=("open.sandbox",),
            mx_hosts=(MxHost(10, "mx.open.sandbox", "127.0.11.2"),),
        ),
    )
    record = tmp_path / "record.jsonl"
    (tmp_path / "shaping.toml").write_text(SHAPING)
    emails = [f"s{i}@shared.sandbox" for i in range(300)] + [
        f"o{i}@open.sandbox" for i in range(600)
    ]
    world = Sandbox(
        SandboxConfig(providers=providers, dns_records=(), dns_faults={}, dns_port=0, smtp_port=0),
        record_path=record,
    )
    with SandboxThread(world) as sandbox:
        host, port = sandbox.dns_address
        env_settings = {
            "SENDWELL_DATA_DIR": str(tmp_path / "data"),
            "SENDWELL_DATABASE_URL": postgres_url,
            "SENDWELL_REDIS_URL": redis_url,
            "SENDWELL_REDIS_NAMESPACE": f"test-{uuid.uuid4().hex}",
            "SENDWELL_DNS_RESOLVER": f"{host}:{port}",
            "SENDWELL_SMTP_PORT": str(sandbox.smtp_port),
            "SENDWELL_SHAPING_FILE": str(tmp_path / "shaping.toml"),
            "SENDWELL_SECRET_KEY": "scale",
            "SENDWELL_HELO_NAME": "scale.localhost",
            "SENDWELL_WORKER_BATCH_SIZE": "100",
            "SENDWELL_LOG_LEVEL": "WARNING",
        }
        settings = Settings().replace(**{k[9:].lower(): v for k, v in env_settings.items()})
        app = open_app(settings, create=True)
        now = app.clock.now()
        with app.engine.begin() as conn:
            ml = create_list(conn, "L", now=now)
            add_subscribers(conn, [NewSubscriber(e) for e in emails], mailing_list=ml, now=now)
            campaign = create_campaign(
                conn,
                name="scale",
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
        result = subprocess.run(
            [sys.executable, "-m", "sendwell", "worker", "--processes", "2", "--drain"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        with app.engine.connect() as conn:
            status = campaign_status(conn, campaign.id)
        app.close()

    assert status.counts["delivered"] == len(emails)
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    assert Counter(r["rcpt"] for r in rows) == Counter(emails)  # everyone exactly once
    stops = [line for line in result.stderr.splitlines() if "stopped:" in line]
    assert len(stops) == 2
    assert all(" 0 delivered" not in line for line in stops), stops  # both did real work
    shared = sorted(
        datetime.fromisoformat(r["at"]).timestamp() for r in rows if r["provider"] == "shared"
    )
    assert max(r["concurrent"] for r in rows if r["provider"] == "shared") <= 4
    worst = max(sum(1 for t in shared if start <= t < start + 1.0) for start in shared)
    assert worst <= 31, worst  # 30/s combined, however many workers
