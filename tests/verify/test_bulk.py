"""Bulk verification: every layer together, each domain resolved once, history, duplicates."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from typing import Any

from sendwell.audience.addresses import address_hash
from sendwell.clock import FrozenClock
from sendwell.sandbox import Sandbox
from sendwell.sandbox.dns import DnsRecord
from sendwell.verify.bulk import Verifier
from sendwell.verify.domains import DomainChecker, parse_networks
from sendwell.verify.lists import ReferenceLists
from sendwell.verify.probe import ProbeConfig, Prober
from sendwell.verify.records import DEFAULT_CHECKS, Finding, Reason
from tests.verify.conftest import probe_world
from tests.verify.test_domains import T0


def test_offline_checks_need_no_network() -> None:
    verifier = Verifier(lists=ReferenceLists.build(), checks=frozenset({"syntax", "typo"}))
    assert not verifier.online
    [ok, typo, bad] = verifier.verify_offline(["Ann@Example.com", "bob@gmial.com", "x@@y"])
    assert (ok.verdict, ok.normalized, ok.reasons) == ("valid", "ann@example.com", ())
    assert typo.verdict == "risky" and typo.suggestion == "bob@gmail.com"
    assert bad.verdict == "invalid" and not bad.syntax_valid
    assert bad.as_json() == {
        "address": "x@@y",
        "normalized": None,
        "syntax_valid": False,
        "verdict": "invalid",
        "reasons": ["syntax"],
        "suggestion": None,
        "disposable": False,
        "role": False,
        "free": False,
    }


def test_duplicates_are_hinted_never_rewritten() -> None:
    verifier = Verifier(lists=ReferenceLists.build())
    results = verifier.verify_offline(["a.nn@gmail.com", "ann+x@googlemail.com", "ann@example.com"])
    assert "possible_duplicate" not in results[0].reasons
    assert "possible_duplicate" in results[1].reasons
    assert results[1].normalized == "ann+x@googlemail.com"
    assert "possible_duplicate" not in results[2].reasons


def test_history_source_marks_bounced_and_complained() -> None:
    calls: list[Sequence[str]] = []

    def history(hashes: Sequence[str]) -> Mapping[str, Sequence[Finding]]:
        calls.append(hashes)
        return {address_hash("gone@example.com"): [Finding(Reason.HARD_BOUNCED)]}

    verifier = Verifier(lists=ReferenceLists.build(), history=history)
    gone, fine = verifier.verify_offline(["Gone@Example.com", "here@example.com"])
    assert gone.verdict == "invalid" and gone.reasons == ("hard_bounced",)
    assert fine.verdict == "valid"
    assert len(calls) == 1 and len(calls[0]) == 2  # one lookup per batch


def test_whole_pipeline_over_sandbox_dns_and_mx() -> None:
    async def scenario() -> None:
        world = probe_world()
        async with Sandbox(world) as sandbox:
            sandbox.dns.add(DnsRecord("nullmx.sandbox", "MX", "0 ."))
            sandbox.dns.set_fault("broken.sandbox", "timeout")
            domains = DomainChecker(
                sandbox.dns_address,
                clock=FrozenClock(T0),
                timeout=0.5,
                allowed_networks=parse_networks("127.0.0.0/8"),
            )
            prober = Prober(
                ProbeConfig(
                    "verify.test",
                    "postmaster@verify.test",
                    port=sandbox.smtp_port,
                    min_interval=0.0,
                ),
                rng=random.Random(1),
            )
            verifier = Verifier(
                lists=ReferenceLists.build(),
                checks=DEFAULT_CHECKS | {"probe"},
                domains=domains,
                prober=prober,
                concurrency=8,
            )
            addresses = [
                "ann@strict.sandbox",
                "carol@strict.sandbox",
                "info@catchall.sandbox",
                "ann@nullmx.sandbox",
                "ann@broken.sandbox",
                "ann@nosuch.sandbox",
                "not an address",
            ] + [f"user{i}@strict.sandbox" for i in range(40)]
            results = await verifier.verify_many(addresses)
        by = {r.address: r for r in results}
        assert [r.address for r in results] == addresses
        assert (by["ann@strict.sandbox"].verdict, by["ann@strict.sandbox"].reasons) == (
            "valid",
            ("mailbox_ok",),
        )
        assert by["carol@strict.sandbox"].verdict == "invalid"
        assert by["info@catchall.sandbox"].verdict == "risky"
        assert set(by["info@catchall.sandbox"].reasons) == {"role", "catch_all"}
        assert by["ann@nullmx.sandbox"].reasons == ("null_mx",)
        assert by["ann@broken.sandbox"].verdict == "unknown"  # a timeout is never invalid
        assert by["ann@broken.sandbox"].reasons == ("dns_timeout",)
        assert by["ann@nosuch.sandbox"].reasons == ("domain_not_found",)
        assert by["not an address"].verdict == "invalid"
        assert domains.lookups == 5  # one per distinct domain, though 43 share one

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_checks_without_their_helpers_are_not_claimed() -> None:
    verifier: Any = Verifier(lists=ReferenceLists.build(), checks=DEFAULT_CHECKS | {"probe"})
    assert "dns" not in verifier.checks and "probe" not in verifier.checks
    assert "history" not in verifier.checks
    [result] = verifier.verify_offline(["ann@example.com"])
    assert "dns" not in result.checks
