"""Sending domains: keys stored encrypted, records printed, DNS checked via the sandbox DNS."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from sendwell.compose.dkim import public_key_b64
from sendwell.domains.check import DnsLookup, Finding, check_domain
from sendwell.domains.records import parse_sources, required_records
from sendwell.domains.store import add_domain, get_domain, normalize_domain, signer_for
from sendwell.errors import ConfigError, ConflictError, InvalidInput
from sendwell.sandbox import DnsRecord, DnsServer
from sendwell.store.schema_content import sending_domains

KEY = b"k" * 32
NOW = datetime(2026, 11, 2, tzinfo=UTC)


def test_keys_are_stored_encrypted_and_usable(engine: Engine) -> None:
    with engine.begin() as conn:
        d = add_domain(conn, "Example.COM", selector="s1", ed25519=True, secret_key=KEY, now=NOW)
        raw = conn.execute(select(sending_domains.c.private_key)).scalar_one()
        assert d.domain == "example.com" and d.ed25519_selector == "s1e"
        assert b"PRIVATE KEY" not in raw.encode() and b"PRIVATE KEY" in d.private_pem(KEY)
        assert signer_for(conn, "example.com", KEY) is not None
        selectors = d.public_selectors(KEY)
        assert [s for s, _ in selectors] == ["s1", "s1e"]
        assert selectors[0][1] == public_key_b64(d.private_pem(KEY))
        assert signer_for(conn, "other.com", KEY) is None
        with pytest.raises(ConflictError):
            add_domain(conn, "example.com", selector="s2", ed25519=False, secret_key=KEY, now=NOW)
        with pytest.raises(ConfigError, match="cannot be decrypted"):
            get_domain(conn, "example.com").private_pem(b"other key")


@pytest.mark.parametrize("bad", ["localhost", "exa mple.com", "-x.com", "a..b"])
def test_bad_domains_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_domain(bad)


def _published(
    engine: Engine, *, spf: str, dmarc: str | None, dkim_ok: bool = True
) -> list[Finding]:
    with engine.begin() as conn:
        d = add_domain(conn, "example.com", selector="s1", ed25519=False, secret_key=KEY, now=NOW)
    public = public_key_b64(d.private_pem(KEY))
    records = [
        DnsRecord("example.com", "TXT", spf),
        DnsRecord("relay.example.net", "TXT", "v=spf1 ip4:198.51.100.0/24 -all"),
        DnsRecord("mail.example.com", "A", "203.0.113.9"),
        DnsRecord(
            "s1._domainkey.example.com",
            "TXT",
            f"v=DKIM1; k=rsa; p={public if dkim_ok else public[:-8] + 'AAAAAAA='}",
        ),
    ]
    if dmarc:
        records.append(DnsRecord("_dmarc.example.com", "TXT", dmarc))

    async def run() -> list[Finding]:
        async with DnsServer(records) as server:
            return await check_domain(
                DnsLookup(server.address, timeout=2),
                domain="example.com",
                selectors=[("s1", public)],
                spf_sources="203.0.113.9, 198.51.100.7, include:relay.example.net",
                bounce_domain="bounces.example.com",
            )

    return asyncio.run(run())


def test_a_correct_domain_passes_every_check(engine: Engine) -> None:
    findings = _published(
        engine,
        spf="v=spf1 a:mail.example.com include:relay.example.net ~all",
        dmarc="v=DMARC1; p=none; adkim=r; aspf=r",
    )
    assert [(f.check, f.ok) for f in findings if not f.ok] == []
    assert {f.check for f in findings} >= {"SPF", "DKIM", "DMARC", "DMARC alignment (SPF)"}


def test_each_problem_is_found_with_a_fix(engine: Engine) -> None:
    findings = _published(engine, spf="v=spf1 ip4:203.0.113.0/28 -all", dmarc=None, dkim_ok=False)
    failed = {f.check: f for f in findings if not f.ok}
    assert set(failed) == {"SPF", "DKIM", "DMARC"}
    assert (
        "198.51.100.7" in failed["SPF"].detail
        and "include:relay.example.net" in failed["SPF"].detail
    )
    assert all(f.fix for f in failed.values())


def test_strict_spf_alignment_with_a_foreign_bounce_domain_fails(engine: Engine) -> None:
    findings = _published(
        engine,
        spf="v=spf1 a:mail.example.com include:relay.example.net ~all",
        dmarc="v=DMARC1; p=reject; aspf=s",
    )
    assert [f.check for f in findings if not f.ok] == ["DMARC alignment (SPF)"]


def test_required_records() -> None:
    from sendwell.compose.dkim import generate_rsa_pem

    records = required_records(
        domain="example.com", selector="s1", private_pem=generate_rsa_pem(),
        ed25519_selector=None, ed25519_pem=None,
        spf_sources=parse_sources("203.0.113.9, 2001:db8::/32, include:relay.example.net"),
        bounce_domain="bounces.example.org", mail_host="mx.example.org",
    )  # fmt: skip
    by_name = {(r.name, r.rtype): r.value for r in records}
    assert by_name[("example.com", "TXT")] == (
        "v=spf1 ip4:203.0.113.9 ip6:2001:db8::/32 include:relay.example.net ~all"
    )
    assert by_name[("s1._domainkey.example.com", "TXT")].startswith("v=DKIM1; k=rsa; p=MII")
    assert by_name[("_dmarc.example.com", "TXT")].startswith("v=DMARC1; p=none")
    assert by_name[("bounces.example.org", "MX")] == "10 mx.example.org."
