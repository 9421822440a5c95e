"""Test sends through the sandbox: the real message, marked, delivered now, counted nowhere."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sendwell.app import App, open_app
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.content import create_campaign_with_content
from sendwell.campaigns.preview import read_parts
from sendwell.campaigns.service import campaign_status, start_campaign
from sendwell.clock import FrozenClock
from sendwell.config import Settings
from sendwell.content.library import content_source, get_template
from sendwell.content.shipped import install_example
from sendwell.domains.store import add_domain
from sendwell.errors import InvalidInput
from sendwell.sandbox import MxHost, ProviderProfile, Sandbox, SandboxConfig
from sendwell.store.schema import events, outbox


def _world() -> SandboxConfig:
    providers = (
        ProviderProfile(name="alpha", domains=("alpha.sandbox",),
                        mx_hosts=(MxHost(10, "mx.alpha.sandbox", "127.0.9.1"),),
                        unknown_mailbox="^unknown"),
        ProviderProfile(name="beta", domains=("beta.sandbox",),
                        mx_hosts=(MxHost(10, "mx.beta.sandbox", "127.0.9.2"),)),
    )  # fmt: skip
    return SandboxConfig(providers=providers, dns_port=0, smtp_port=0)


async def _with_app(
    tmp_path: Path, db_url: str, body: Callable[[App, Sandbox, int], Awaitable[None]]
) -> None:
    sandbox = Sandbox(_world(), keep_messages=True)
    async with sandbox:
        host, port = sandbox.dns_address
        settings = Settings().replace(
            data_dir=tmp_path / "data", database_url=db_url, dns_resolver=f"{host}:{port}",
            smtp_port=sandbox.smtp_port, helo_name="sendwell-test.localhost", secret_key="k",
            sender_organization="Example Ltd", sender_postal_address="1 Main St",
            public_url="https://mail.example.com",
        )  # fmt: skip
        app = open_app(settings, clock=FrozenClock(datetime(2026, 11, 2, 9, tzinfo=UTC)),
                       create=True)  # fmt: skip
        try:
            now = app.clock.now()
            with app.engine.begin() as conn:
                ml = create_list(conn, "News", now=now)
                add_subscribers(
                    conn,
                    [NewSubscriber("ann@beta.sandbox", "Ann", attributes={"plan": "pro"}),
                     NewSubscriber("bob@beta.sandbox", "Bob")],
                    mailing_list=ml, now=now,
                )  # fmt: skip
                add_domain(conn, "sender.sandbox", selector="s1", ed25519=False,
                           secret_key=app.secret_key(), now=now)  # fmt: skip
                install_example(conn, "newsletter", now=now)
                template = get_template(conn, "newsletter")
                campaign_id = create_campaign_with_content(
                    conn, content_source(conn, template), name="", list_ids=[ml.id],
                    from_email="news@sender.sandbox", from_name="News", now=now,
                ).campaign.id  # fmt: skip
            await body(app, sandbox, campaign_id)
        finally:
            app.close()


def test_a_test_send_is_the_real_message_marked_and_not_counted(
    tmp_path: Path, db_url: str
) -> None:
    async def body(app: App, sandbox: Sandbox, campaign_id: int) -> None:
        to = ["tester@alpha.sandbox", "unknown-qa@alpha.sandbox", "Boss@Beta.Sandbox"]
        test, results = await app.send_test(campaign_id, to=to)
        assert test.personalized_for == "ann@beta.sandbox"  # the first confirmed subscriber
        assert [(r.rcpt, r.ok, r.code) for r in results] == [
            ("tester@alpha.sandbox", True, 250),
            ("unknown-qa@alpha.sandbox", False, 550),
            ("boss@beta.sandbox", True, 250),
        ]
        assert [r.host for r in results] == ["mx.alpha.sandbox", "mx.alpha.sandbox",
                                             "mx.beta.sandbox"]  # fmt: skip
        received = {m.rcpt: m for m in sandbox.messages}
        assert set(received) == {"tester@alpha.sandbox", "boss@beta.sandbox"}
        data = received["tester@alpha.sandbox"].data
        msg = email.message_from_bytes(data, policy=email.policy.default)
        assert msg["Subject"] == "[TEST] What's new at Example Ltd this month"
        assert msg["To"] == "tester@alpha.sandbox"
        assert "DKIM-Signature" in msg
        _, html, text = read_parts(data)
        assert "Hello Ann," in text and "As a Pro customer" in html  # as Ann would see it
        assert "https://mail.example.com/c/" not in html  # untracked: clicks never count
        assert "https://mail.example.com/o/" not in html
        assert "https://example.com/blog/faster-reports" in html
        assert "https://mail.example.com/u/0-" in text  # the placeholder row
        with app.engine.connect() as conn:
            recorded = conn.execute(
                select(events.c.kind, events.c.code, events.c.detail).order_by(events.c.id)
            ).all()
            assert [(k, c) for k, c, _ in recorded] == [("test", 250), ("test", 550),
                                                        ("test", 250)]  # fmt: skip
            assert (
                "test to unknown-qa@alpha.sandbox as ann@beta.sandbox: failed: 550"
                in (recorded[1][2])
            )
            assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 0
            assert campaign_status(conn, campaign_id).state == "draft"
        # Once started, a test send still changes no count.
        with app.engine.begin() as conn:
            before = start_campaign(conn, campaign_id, now=app.clock.now())
        _, again = await app.send_test(campaign_id, to=["t2@alpha.sandbox"],
                                       as_email="bob@beta.sandbox")  # fmt: skip
        assert again[0].ok
        bob = email.message_from_bytes(sandbox.messages[-1].data, policy=email.policy.default)
        assert "Hello Bob," in bob.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        with app.engine.connect() as conn:
            assert campaign_status(conn, campaign_id).counts == before.counts

    asyncio.run(_with_app(tmp_path, db_url, body))


def test_test_addresses_are_checked_first(tmp_path: Path) -> None:
    async def body(app: App, sandbox: Sandbox, campaign_id: int) -> None:
        many = [f"t{i}@alpha.sandbox" for i in range(21)]
        cases = (([], "at least one"), (["not an address"], "not an address"),
                 (many, "at most 20"))  # fmt: skip
        for to, message in cases:
            with pytest.raises(InvalidInput, match=message):
                await app.send_test(campaign_id, to=to)
        assert sandbox.messages == []

    asyncio.run(_with_app(tmp_path, "", body))
