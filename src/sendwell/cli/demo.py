"""``sendwell demo``: a real campaign to the simulated internet, watched live.

Starts the sandbox (DNS + provider MX servers on loopback) and a delivery worker in
background threads, creates demo data in a fresh database under ``<data_dir>/demo``,
starts a campaign and shows per-provider progress until every recipient is final.

The demo's recipients are chosen to show the engine's behaviours: most are delivered,
``unknown*`` mailboxes bounce with the provider's 550 reply, ``flaky*`` ones have their
connection dropped mid-DATA once and are delivered on retry, ``greylist.sandbox``
addresses are greylisted first, and ``full*`` mailboxes stay over quota until their
retries expire. Retry timings are shortened (first retry after 3 s, give up after 12 s)
so this plays out in seconds; real deployments retry for days.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sendwell.app import App, open_app
from sendwell.audience.consent import Evidence
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.audience.suppressions import suppress
from sendwell.campaigns.service import (
    campaign_status,
    counts_by_domain,
    create_campaign,
    get_campaign,
)
from sendwell.cli import context
from sendwell.cli.context import err, out
from sendwell.delivery.worker import Worker
from sendwell.domains.records import parse_sources, required_records
from sendwell.domains.store import SendingDomain, add_domain
from sendwell.errors import ConfigError
from sendwell.sandbox import DnsRecord, Sandbox, SandboxConfig, SandboxThread

if TYPE_CHECKING:
    from sendwell.web.demo import DemoWeb

FIRST_NAMES = [
    "Ada",
    "Grace",
    "Linus",
    "Margaret",
    "Alan",
    "Barbara",
    "Dennis",
    "Frances",
    "Ken",
    "Radia",
    "Tim",
    "Hedy",
    "Katherine",
    "Guido",
    "Sophie",
    "Jörg",
    "Zoë",
]
# Share of demo recipients per domain (the rest of the world's domains get none).
DOMAIN_WEIGHTS = {
    "gmail.sandbox": 30,
    "googlemail.sandbox": 5,
    "outlook.sandbox": 15,
    "hotmail.sandbox": 8,
    "yahoo.sandbox": 14,
    "aol.sandbox": 4,
    "icloud.sandbox": 10,
    "me.sandbox": 3,
    "example-corp.sandbox": 6,
    "greylist.sandbox": 5,
}
FINAL = ("delivered", "bounced", "expired", "suppressed", "cancelled", "failed")

HTML = """<html><body style="font-family: sans-serif">
<h1>Hello {{ subscriber.first_name | default("there") }}!</h1>
<p>This is the sendwell demo newsletter, campaign "{{ campaign.name }}".</p>
<p>Every message you see in the sandbox record went over real SMTP, paced per provider,
with bounces and retries recorded per recipient.</p>
<p><a href="https://sendwell.example/docs">Read the docs</a></p>
<p style="color:#666;font-size:12px">You receive this because you asked for the demo
newsletter. {{ sender.organization }}, {{ sender.postal_address }}.
<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
</body></html>"""
DEMO_DOMAIN = "sendwell-demo.sandbox"
DEMO_ORGANIZATION = "sendwell demo"
DEMO_ADDRESS = "1 Loopback Lane, 127 Localhost"
DEMO_CONSENT = Evidence(
    source="cli", source_ref="sendwell demo", method="manual", lawful_basis="consent",
    wording="Yes, send me the sendwell demo newsletter",
)  # fmt: skip


def _local_part(i: int, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.02:
        return f"unknown{i}"
    if roll < 0.025:
        return f"flaky{i}"
    if roll < 0.027:
        return f"full{i}"
    return f"reader{i}"


def seed(app: App, recipients: int, rng: random.Random) -> tuple[int, SendingDomain]:
    """Create the demo list, subscribers (with their consent), the signed sending domain and
    the campaign; return the campaign id."""
    domains = list(DOMAIN_WEIGHTS)
    weights = list(DOMAIN_WEIGHTS.values())
    now = app.clock.now()
    with app.engine.begin() as conn:
        ml = create_list(
            conn, "Demo newsletter", now=now, description="People who asked for the demo newsletter"
        )
        batch: list[NewSubscriber] = []
        for i in range(recipients):
            domain = rng.choices(domains, weights)[0]
            first = rng.choice(FIRST_NAMES) if rng.random() > 0.1 else None
            batch.append(
                NewSubscriber(
                    f"{_local_part(i, rng)}@{domain}",
                    first,
                    None,
                    {"plan": rng.choice(["free", "pro"])},
                )
            )
            if len(batch) == 2000:
                add_subscribers(conn, batch, mailing_list=ml, now=now, evidence=DEMO_CONSENT)
                batch = []
        add_subscribers(conn, batch, mailing_list=ml, now=now, evidence=DEMO_CONSENT)
        # One person who unsubscribed earlier: suppressed, never mailed.
        add_subscribers(
            conn, [NewSubscriber("former@gmail.sandbox", "Former")], mailing_list=ml, now=now,
            evidence=DEMO_CONSENT,
        )  # fmt: skip
        suppress(conn, "former@gmail.sandbox", reason="unsubscribe", now=now)
        campaign = create_campaign(
            conn,
            name="Demo newsletter #1",
            subject='Hello {{ subscriber.first_name | default("there") }}, your demo newsletter',
            from_email=f"news@{DEMO_DOMAIN}",
            from_name="sendwell demo",
            html_template=HTML,
            text_template=None,
            list_ids=[ml.id],
            now=now,
        )
        sending = add_domain(conn, DEMO_DOMAIN, selector="demo", ed25519=False,
                             secret_key=app.secret_key(), now=now)  # fmt: skip
    return campaign.id, sending


def publish_domain(app: App, sandbox: SandboxThread, domain: SendingDomain) -> None:
    """Publish the demo domain's DKIM, SPF and DMARC records in the sandbox DNS, as an
    operator publishes what `sendwell domains add` prints."""
    s = app.settings
    specs = required_records(
        domain=domain.domain, selector=domain.selector,
        private_pem=domain.private_pem(app.secret_key()), ed25519_selector=None,
        ed25519_pem=None, spf_sources=parse_sources(s.spf_sources),
        bounce_domain=s.bounce_domain, mail_host=app.helo_name(),
    )  # fmt: skip
    sandbox.add_dns(DnsRecord(r.name, r.rtype, r.value) for r in specs)


class WorkerThread:
    """Runs a worker's event loop in a background thread, stoppable from the main one."""

    def __init__(self, worker: Worker, until: Callable[[], bool]) -> None:
        self._worker = worker
        self._until = until
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sendwell-worker", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._worker.run(stop=self._stop, until=self._until)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


def _provider_table(app: App, campaign_id: int, providers: dict[str, str]) -> Table:
    with app.engine.connect() as conn:
        per_domain = counts_by_domain(conn, campaign_id)
    per_provider: dict[str, dict[str, int]] = {}
    for domain, counts in per_domain.items():
        bucket = per_provider.setdefault(providers.get(domain, domain), {})
        for key, n in counts.items():
            bucket[key] = bucket.get(key, 0) + n
    columns = ("queued", "deferred", "delivered", "bounced", "expired", "suppressed")
    table = Table("provider", *columns, title="per provider")
    for name in sorted(per_provider):
        table.add_row(name, *(str(per_provider[name].get(c, 0)) for c in columns))
    return table


def demo(
    recipients: int = typer.Option(10_000, help="How many demo subscribers to mail."),
    exit_when_done: bool = typer.Option(
        False, "--exit", help="Run headless: no live display; exit when the campaign is done."
    ),
    seed_value: int = typer.Option(7, "--seed", help="Random seed for the demo data."),
    web_port: int = typer.Option(
        8000,
        "--web-port",
        help="Port of the web UI on 127.0.0.1 (0: do not start it; --exit never starts it).",
    ),
) -> None:
    """Send a demo campaign to the simulated internet and watch it go out.

    Also serves the web UI (admin and public pages) with the demo data and prints its URL
    and the demo sign-in; after the campaign it keeps serving until Ctrl-C.
    """
    base = context.settings()
    demo_dir = base.data_dir / "demo"
    if demo_dir.exists():
        shutil.rmtree(demo_dir)
    demo_dir.mkdir(parents=True)
    context.setup_logging(base.log_level, filename=str(demo_dir / "demo.log"))
    record = demo_dir / "sandbox-record.jsonl"
    world = Sandbox(SandboxConfig.load().with_ports(dns_port=0, smtp_port=0), record_path=record)
    sandbox = SandboxThread(world)
    sandbox.start()
    host, port = sandbox.dns_address
    settings = base.replace(
        data_dir=demo_dir,
        database_url="",
        dns_resolver=f"{host}:{port}",
        smtp_port=sandbox.smtp_port,
        helo_name="sendwell-demo.localhost",
        shaping_file=str(Path(__file__).with_name("demo_shaping.toml")),
        retry_base_seconds=3,
        retry_max_age_seconds=12,
        poll_seconds=0.5,
        sender_organization=DEMO_ORGANIZATION,
        sender_postal_address=DEMO_ADDRESS,
        # The demo's unsubscribe links point at its own web UI over plain http on
        # loopback; one-click over https is a warning here, not a blocker.
        allow_http_one_click=True,
    )
    app = open_app(settings, create=True)
    worker_thread: WorkerThread | None = None
    web: DemoWeb | None = None
    try:
        campaign_id, domain = seed(app, recipients, random.Random(seed_value))
        publish_domain(app, sandbox, domain)
        app.start_campaign(campaign_id)  # the same preflight gate as everywhere
        providers = world.domains()

        def finished() -> bool:
            with app.engine.connect() as conn:
                return get_campaign(conn, campaign_id).state == "finished"

        if not exit_when_done and web_port:
            # Imported here: the web stack is most of what the command line would load.
            from sendwell.web.demo import start_demo_web

            try:
                web = start_demo_web(app, host="127.0.0.1", port=web_port)
            except ConfigError as exc:
                err.print(f"web UI not started: {exc}")
            else:
                out.print(f"web UI: {web.admin_url}  (sign in as {web.email} / {web.password})")
        worker_thread = WorkerThread(app.worker(), finished)
        started = time.monotonic()
        worker_thread.start()
        if exit_when_done:
            while worker_thread.is_alive():
                worker_thread.join(0.5)
        else:
            _watch(app, campaign_id, providers, worker_thread)
        worker_thread.stop()
        if worker_thread.error is not None:
            raise worker_thread.error
        elapsed = time.monotonic() - started
        with app.engine.connect() as conn:
            status = campaign_status(conn, campaign_id)
        out.print(_provider_table(app, campaign_id, providers))
        out.print(
            f"campaign {campaign_id} {status.state} in {elapsed:.1f} s "
            "(including the retries of deferred recipients)"
        )
        out.print(f"sandbox record: {record}", soft_wrap=True)
        print(json.dumps(status.as_json()))
        if status.state != "finished":
            raise typer.Exit(1)
        if web is not None:
            out.print(f"the web UI stays up at {web.admin_url} — Ctrl-C to stop")
            threading.Event().wait()
    except KeyboardInterrupt:
        if worker_thread is not None and worker_thread.is_alive():
            err.print("stopping: unfinished recipients stay queued in the demo database")
            worker_thread.stop()
            raise typer.Exit(130) from None
    finally:
        if web is not None:
            web.server.stop()
        app.close()
        sandbox.stop()


def _watch(
    app: App, campaign_id: int, providers: dict[str, str], worker_thread: WorkerThread
) -> None:
    progress = Progress(
        TextColumn("[bold]campaign {task.fields[cid]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with app.engine.connect() as conn:
        total = campaign_status(conn, campaign_id).total
    task = progress.add_task("send", total=total, cid=campaign_id, detail="")
    with Live(Group(progress), refresh_per_second=8, console=out) as live:
        while worker_thread.is_alive():
            with app.engine.connect() as conn:
                status = campaign_status(conn, campaign_id)
            done = sum(status.counts[k] for k in FINAL)
            progress.update(
                task,
                completed=done,
                detail=(
                    f"delivered {status.counts['delivered']}  bounced {status.counts['bounced']}  "
                    f"deferred {status.counts['deferred']}  expired {status.counts['expired']}"
                ),
            )
            live.update(Group(progress, _provider_table(app, campaign_id, providers)))
            worker_thread.join(0.25)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
