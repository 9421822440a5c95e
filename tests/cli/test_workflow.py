"""The five-minute tour from the README, run as a user would type it.

DNS is a loopback server (the sandbox's) where the test publishes what `domains add`
prints, as the user would at their DNS host.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from sendwell.domains.store import get_domain
from sendwell.sandbox.dns import DnsRecord
from sendwell.store.engine import create_db_engine
from tests.cli.conftest import Run
from tests.dns_thread import DnsThread, dns_thread

FOOTER = (
    "<p>{{ sender.organization }}, {{ sender.postal_address }} · "
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)


@pytest.fixture
def dns() -> Iterator[DnsThread]:
    with dns_thread() as server:
        yield server


def _publish(dns: DnsThread, data_dir: Path, domain: str) -> None:
    engine = create_db_engine(f"sqlite:///{data_dir / 'sendwell.db'}")
    try:
        with engine.connect() as conn:
            stored = get_domain(conn, domain)
    finally:
        engine.dispose()
    dns.publish_domain(stored, (data_dir / "secret.key").read_bytes().strip())
    # Where example.com's mail goes, so the delivery estimate can place its recipients.
    dns.add(
        [DnsRecord(domain, "MX", f"10 mx.{domain}."), DnsRecord(f"mx.{domain}", "A", "192.0.2.25")]
    )


def test_tour_up_to_a_started_campaign(run: Run, tmp_path: Path, dns: DnsThread) -> None:
    env = {"SENDWELL_DNS_RESOLVER": dns.setting, "SENDWELL_PUBLIC_URL": "https://news.example.com",
           "SENDWELL_SPAMD_ADDRESS": ""}  # fmt: skip
    run = partial(run, env=env)
    assert run("init").returncode == 0
    assert run("lists", "create", "News", "--description", "Weekly news").returncode == 0
    added = run(
        "subscribers",
        "add",
        "ann@example.com",
        "--list",
        "News",
        "--first-name",
        "Ann",
        "--attr",
        "plan=pro",
    )
    assert added.returncode == 0, added.stderr
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "\ufeffEmail,First_Name,city\nbob@example.com,Bob,Oslo\n"
        "broken-address,X,Y\ncy@example.org,,Rome\n",
        encoding="utf-8",
    )
    imported = run("subscribers", "import", str(csv_file), "--list", "News", "--basis", "consent")
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 new, 0 updated, 1 rejected" in imported.stdout
    assert "line 3" in imported.stdout
    assert run("suppressions", "add", "cy@example.org").returncode == 0
    (tmp_path / "news.html").write_text(
        '<p>Hi {{ subscriber.first_name | default("there") }}, here is our news.</p>' + FOOTER
    )
    created = run(
        "campaigns",
        "create",
        "--subject",
        "News",
        "--from",
        "news@example.com",
        "--list",
        "News",
        "--html",
        str(tmp_path / "news.html"),
    )
    assert created.returncode == 0, created.stderr
    # Not yet: no sender identity or postal address, no DKIM key for example.com.
    refused = run("campaigns", "start", "1")
    assert refused.returncode == 1
    for code in ("no-postal-address", "from-domain-not-authenticated"):
        assert f"- {code}: " in refused.stderr
    assert "(fix: run `sendwell domains add example.com`" in refused.stderr
    settings = run("campaigns", "settings", "1", "--organization", "Example Inc.",
                   "--postal-address", "1 Main St, Springfield")  # fmt: skip
    assert settings.returncode == 0, settings.stderr
    assert run("domains", "add", "example.com").returncode == 0
    _publish(dns, tmp_path / "data", "example.com")
    checked = run("campaigns", "check", "1", "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["ok"] is True and report["audience"]["eligible"] == 2
    assert {f["check"] for f in report["dns"] if f["ok"]} >= {"SPF", "DKIM", "DMARC"}
    plan = report["delivery_plan"]
    assert plan["recipients"] == 2 and plan["sites"][0]["site"] == "mx.example.com"
    assert plan["duration_seconds"] == 72.0  # 2 messages at the shipped 100/h
    started = run("campaigns", "start", "1")
    assert started.returncode == 0, started.stderr
    assert "2 queued, 1 suppressed" in started.stdout
    status = run("campaigns", "status", "1", "--json")
    assert json.loads(status.stdout) == {
        "campaign": 1,
        "state": "running",
        "counts": {
            "queued": 2,
            "deferred": 0,
            "delivered": 0,
            "bounced": 0,
            "expired": 0,
            "suppressed": 1,
            "excluded": 0,
            "skipped": 0,
            "cancelled": 0,
            "failed": 0,
        },
    }
    shown = run("config", "show", "--json", env={"SENDWELL_SECRET_KEY": "s3cret"})
    rows = {r["name"]: r for r in json.loads(shown.stdout)}
    assert rows["secret_key"]["value"] == "**********" and rows["secret_key"]["source"] == "env"
    assert "s3cret" not in shown.stdout
