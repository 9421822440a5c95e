"""The mailbox probe against sandbox MX servers speaking real SMTP."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from typing import Any

from sendwell.clock import FrozenClock
from sendwell.dnsclient import MxHost
from sendwell.sandbox import Sandbox
from sendwell.verify.domains import DomainChecker, parse_networks
from sendwell.verify.probe import ProbeConfig, Prober
from sendwell.verify.records import Finding, Reason
from tests.verify.conftest import probe_world
from tests.verify.test_domains import T0


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 30))


def prober(port: int, **kwargs: Any) -> Prober:
    config = ProbeConfig(
        helo_name="verify.sendwell.test",
        mail_from="postmaster@verify.sendwell.test",
        port=port,
        timeout=5.0,
        min_interval=kwargs.pop("min_interval", 0.0),
        skip_mx_suffixes=(".outlook.sandbox",),
        **kwargs,
    )
    return Prober(config, rng=random.Random(7))


async def probe(sandbox: Sandbox, p: Prober, address: str) -> Finding:
    dns = DomainChecker(
        sandbox.dns_address,
        clock=FrozenClock(T0),
        timeout=2.0,
        allowed_networks=parse_networks("127.0.0.0/8"),
    )
    domain = address.rpartition("@")[2]
    report = await dns.check(domain)
    return await p.probe(address, domain, report.hosts)


def test_existing_unknown_catch_all_greylisted_and_skipped() -> None:
    async def scenario() -> None:
        async with Sandbox(probe_world()) as sandbox:
            p = prober(sandbox.smtp_port)
            assert (await probe(sandbox, p, "ann@strict.sandbox")).code == Reason.MAILBOX_OK
            missing = await probe(sandbox, p, "carol@strict.sandbox")
            assert missing.code == Reason.MAILBOX_NOT_FOUND
            assert "550" in missing.detail
            assert (await probe(sandbox, p, "ann@catchall.sandbox")).code == Reason.CATCH_ALL
            # Greylisting is one attempt, reported as unknown-ish, never retried here.
            assert (await probe(sandbox, p, "ann@grey.sandbox")).code == Reason.GREYLISTED
            sessions = p.sessions
            skipped = await probe(sandbox, p, "ann@msft.sandbox")
            assert skipped.code == Reason.PROBE_SKIPPED
            assert p.sessions == sessions  # Microsoft-like hosts are never contacted
            # Nothing was delivered: the probe never sends DATA.
            assert sandbox.messages == []

    run(scenario())


def test_catch_all_is_detected_once_per_domain() -> None:
    async def scenario() -> None:
        async with Sandbox(probe_world()) as sandbox:
            p = prober(sandbox.smtp_port)
            first = await probe(sandbox, p, "bob@strict.sandbox")
            second = await probe(sandbox, p, "ann@strict.sandbox")
            assert first.code == second.code == Reason.MAILBOX_OK

    run(scenario())


def test_probes_to_one_mx_are_spaced() -> None:
    async def scenario() -> None:
        async with Sandbox(probe_world()) as sandbox:
            p = prober(sandbox.smtp_port, min_interval=0.25)
            loop = asyncio.get_running_loop()
            started = loop.time()
            results = await asyncio.gather(
                *(probe(sandbox, p, f"{name}@strict.sandbox") for name in ("ann", "bob", "x"))
            )
            assert loop.time() - started >= 0.5  # three probes, two intervals
            assert [r.code for r in results] == [
                Reason.MAILBOX_OK,
                Reason.MAILBOX_OK,
                Reason.MAILBOX_NOT_FOUND,
            ]

    run(scenario())


def test_unreachable_host_is_a_probe_failure() -> None:
    async def scenario() -> None:
        async with Sandbox(probe_world()) as sandbox:
            port = sandbox.smtp_port
        p = prober(port)  # the sandbox is stopped: connections are refused
        found = await p.probe(
            "ann@strict.sandbox", "strict.sandbox", (MxHost(10, "mx", ("127.0.0.1",)),)
        )
        assert found.code == Reason.PROBE_FAILED

    run(scenario())
