"""Fixtures for the web tests: an App on each database backend and an in-process client.

The client is Starlette's ``TestClient`` (httpx over the ASGI app, no socket); one test
in ``test_server.py`` goes through a real uvicorn server on loopback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from sendwell.accounts.tokens import create_token
from sendwell.accounts.users import create_user
from sendwell.app import App
from sendwell.audience.consent import Evidence
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.service import create_campaign
from sendwell.clock import FrozenClock
from sendwell.config import Secret, Settings
from sendwell.domains.store import add_domain, find_domain
from sendwell.sandbox import DnsRecord, Sandbox, SandboxConfig, SandboxThread
from sendwell.web.app import create_app
from sendwell.web.jobs import create_job
from sendwell.web.runner import JobRunner
from tests.dns_thread import DnsThread, dns_thread

PASSWORD = "correct horse battery"
ADMIN = "admin@example.com"
FOOTER = (
    "<p>{{ sender.organization }}, {{ sender.postal_address }} · "
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)
HTML = (
    "<p>Hello {{ subscriber.first_name | default('there') }}, our news of the month.</p>" + FOOTER
)


def make_settings(tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "secret_key": Secret("k" * 32),
        "spamd_address": "",
        "public_url": "https://mail.example.com",
        "sender_organization": "Example Inc.",
        "sender_postal_address": "1 Main St, Springfield",
    }
    return Settings().replace(**{**values, **changes})


# The DNS server that publishes each test app's sending domain (see ``seed``).
_DNS: dict[int, DnsThread] = {}
CONSENT = Evidence(source="admin", method="manual", lawful_basis="consent")


@pytest.fixture
def dns() -> Iterator[DnsThread]:
    with dns_thread() as server:
        yield server


@pytest.fixture
def app(engine: Engine, clock: FrozenClock, tmp_path: Path, dns: DnsThread) -> Iterator[App]:
    """An App whose DNS is a loopback server that ``seed`` publishes the domain in."""
    a = App(settings=make_settings(tmp_path, dns_resolver=dns.setting), engine=engine,
            clock=clock)  # fmt: skip
    _DNS[id(a)] = dns
    yield a
    _DNS.pop(id(a), None)


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app), base_url="https://testserver") as c:
        yield c


def token_for(app: App, *scopes: str) -> dict[str, str]:
    """Authorization header of a fresh token with ``scopes``."""
    with app.engine.begin() as conn:
        _, secret = create_token(conn, "test", scopes, now=app.clock.now())
    return {"Authorization": f"Bearer {secret}"}


def login_csrf(client: TestClient) -> str:
    page = client.get("/admin/login")
    assert page.status_code == 200
    return str(client.cookies.get("sendwell_login_csrf"))


def sign_in(client: TestClient, app: App, email: str = ADMIN) -> str:
    """Create the user, sign in; returns the session's CSRF token (from the dashboard)."""
    with app.engine.begin() as conn:
        create_user(conn, email, PASSWORD, now=app.clock.now())
    token = login_csrf(client)
    r = client.post(
        "/admin/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token, "next": "/admin/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_from(client.get("/admin/").text)


def csrf_from(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def seed(app: App, *, people: int = 3, list_name: str = "News") -> tuple[int, int]:
    """A list with ``people`` confirmed, consenting subscribers, a signed sending domain
    (published in the app's test DNS when it has one) and a draft campaign to it; returns
    (list id, campaign id)."""
    now = app.clock.now()
    with app.engine.begin() as conn:
        ml = create_list(conn, list_name, now=now)
        add_subscribers(
            conn,
            [NewSubscriber(f"p{i}@example.org", f"P{i}") for i in range(people)],
            mailing_list=ml,
            now=now,
            evidence=CONSENT,
        )
        domain = find_domain(conn, "example.com") or add_domain(
            conn, "example.com", selector="s1", ed25519=False, secret_key=app.secret_key(),
            now=now,
        )  # fmt: skip
        c = create_campaign(
            conn, name="", subject="November news", from_email="news@example.com",
            from_name="Example News", html_template=HTML, text_template=None,
            list_ids=[ml.id], now=now,
        )  # fmt: skip
    dns = _DNS.get(id(app))
    if dns is not None:
        dns.publish_domain(domain, app.secret_key())
    return ml.id, c.id


@contextmanager
def sandboxed(
    app: App,
    records: tuple[DnsRecord, ...] = (),
    faults: dict[str, str] | None = None,
    **changes: object,
) -> Iterator[tuple[App, SandboxThread]]:
    """The sandbox (DNS + provider MX servers on loopback, plus ``records`` and DNS
    ``faults``) and a copy of ``app`` whose DNS, SMTP and verification settings point at it."""
    config = SandboxConfig.load()
    world = Sandbox(
        SandboxConfig(
            config.providers, (*config.dns_records, *records),
            {**config.dns_faults, **(faults or {})}, dns_port=0, smtp_port=0,
        )
    )  # fmt: skip
    with SandboxThread(world) as sandbox:
        host, port = sandbox.dns_address
        settings = app.settings.replace(
            dns_resolver=f"{host}:{port}", smtp_port=sandbox.smtp_port,
            verify_mx_allowed_networks="127.0.0.0/8", **changes,
        )  # fmt: skip
        yield App(settings=settings, engine=app.engine, clock=app.clock), sandbox


@contextmanager
def busy(runner: JobRunner) -> Iterator[None]:
    """Every thread of ``runner`` kept busy, so jobs submitted meanwhile stay queued."""
    release = threading.Event()
    blockers = []
    for _ in range(runner.workers):
        with runner.app.engine.begin() as conn:
            job = create_job(conn, "verify_list", state="queued", params={},
                             created_by="test", now=runner.app.clock.now())  # fmt: skip
        runner.submit(job.id, lambda ctx: {"released": release.wait(60)})
        blockers.append(job.id)
    try:
        yield
    finally:
        release.set()
        for job_id in blockers:
            runner.wait(job_id)


def runner_of(client: TestClient) -> JobRunner:
    runner: JobRunner = client.app.state.sendwell_jobs  # type: ignore[attr-defined]
    return runner
