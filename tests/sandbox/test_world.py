"""The whole default world: DNS routes each provider's domains to MX hosts that accept mail."""

from __future__ import annotations

import asyncio
import json
import smtplib
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import dns.asyncquery
import dns.message
import dns.rcode
import pytest
import typer
from typer.testing import CliRunner

from sendwell.cli.sandbox import register
from sendwell.errors import SandboxError
from sendwell.sandbox import Sandbox, SandboxConfig, SandboxThread

if TYPE_CHECKING:
    from tests.sandbox.conftest import FakeClock

MESSAGE = b"Subject: hi\r\nMessage-ID: <w@shop.example>\r\n\r\nhello\r\n"


async def mx_address(sandbox: Sandbox, domain: str) -> str:
    """The IP of the most preferred MX host, as a resolver would find it."""
    host, port = sandbox.dns_address
    reply = await dns.asyncquery.udp(dns.message.make_query(domain, "MX"), host, port=port)
    assert reply.rcode() == dns.rcode.NOERROR, domain
    best = min(reply.answer[0], key=lambda r: r.preference)
    for rrset in reply.additional:
        if rrset.name == best.exchange:
            return str(rrset[0].address)
    raise AssertionError(f"no address for {best.exchange}")


def send(ip: str, port: int, rcpt: str) -> None:
    with smtplib.SMTP(ip, port, timeout=5) as smtp:
        smtp.sendmail("bounces@shop.example", [rcpt], MESSAGE)


def test_default_world_delivers_to_every_provider(tmp_path: Path, clock: FakeClock) -> None:
    config = SandboxConfig.load().with_ports(0, 0)
    record = tmp_path / "record.jsonl"

    async def main() -> Sandbox:
        async with Sandbox(config, record_path=record, keep_messages=True, now=clock) as sandbox:
            for provider in config.providers:
                domain = provider.domains[0]
                ip = await mx_address(sandbox, domain)
                rcpt = f"someone@{domain}"
                if provider.greylist_seconds:
                    with pytest.raises(smtplib.SMTPRecipientsRefused, match="451"):
                        await asyncio.to_thread(send, ip, sandbox.smtp_port, rcpt)
                    clock.advance(provider.greylist_seconds)
                await asyncio.to_thread(send, ip, sandbox.smtp_port, rcpt)
            host, port = sandbox.dns_address
            aonly = await dns.asyncquery.udp(
                dns.message.make_query("aonly.sandbox", "A"), host, port=port
            )
            ip = str(aonly.answer[0][0].address)
            await asyncio.to_thread(send, ip, sandbox.smtp_port, "implicit@aonly.sandbox")
            for name, rcode in [
                ("servfail.sandbox", dns.rcode.SERVFAIL),
                ("nosuch.sandbox", dns.rcode.NXDOMAIN),
            ]:
                reply = await dns.asyncquery.udp(
                    dns.message.make_query(name, "MX"), host, port=port
                )
                assert reply.rcode() == rcode
            return sandbox

    sandbox = asyncio.run(main())
    names = [p.name for p in config.providers]
    assert {"gmail", "outlook", "yahoo", "icloud", "corp"} <= set(names)
    assert [m.provider for m in sandbox.messages] == [*names, "corp"]
    assert len(record.read_text().splitlines()) == len(names) + 1
    assert json.loads(record.read_text().splitlines()[0])["rcpt"] == "someone@gmail.sandbox"
    assert sandbox.domains()["hotmail.sandbox"] == "outlook"


def test_default_world_has_the_special_domains() -> None:
    config = SandboxConfig.load()
    records = {(r.name, r.rtype): r.value for r in config.all_dns_records()}
    assert records[("nullmx.sandbox", "MX")] == "0 ."
    assert ("aonly.sandbox", "A") in records
    assert ("aonly.sandbox", "MX") not in records
    assert config.dns_faults == {"servfail.sandbox": "servfail", "timeout.sandbox": "timeout"}
    greylister = next(p for p in config.providers if "greylist.sandbox" in p.domains)
    assert greylister.greylist_seconds
    limits = {p.name: p.rate_limit.messages_per_minute for p in config.providers}
    assert (limits["gmail"] or 0) >= 100_000


def test_sandbox_thread_serves_synchronous_callers() -> None:
    config = SandboxConfig.load().with_ports(0, 0)
    with SandboxThread(Sandbox(config, keep_messages=True)) as world:
        port = world.smtp_port
        send("127.0.1.1", port, "alice@gmail.sandbox")
        assert [m.rcpt for m in world.sandbox.messages] == ["alice@gmail.sandbox"]
    with pytest.raises(OSError), socket.create_connection(("127.0.1.1", port), timeout=1):
        pass


def test_ports_in_use_are_reported() -> None:
    config = SandboxConfig.load().with_ports(0, 0)
    with SandboxThread(Sandbox(config)) as first:
        taken_smtp = config.with_ports(0, first.smtp_port)
        with pytest.raises(SandboxError, match=rf"cannot listen on 127\.0\.1\.1:{first.smtp_port}"):
            SandboxThread(Sandbox(taken_smtp)).start()
        _, dns_port = first.dns_address
        taken_dns = config.with_ports(dns_port, 0)
        with pytest.raises(SandboxError, match=rf"cannot listen on 127\.0\.0\.1:{dns_port}"):
            SandboxThread(Sandbox(taken_dns)).start()


def test_cli_reports_a_port_in_use_in_one_line() -> None:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command keeps "sandbox" a subcommand
        """Unused."""

    with SandboxThread(Sandbox(SandboxConfig.load().with_ports(0, 0))) as first:
        args = ["sandbox", "--dns-port", "0", "--smtp-port", str(first.smtp_port)]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot listen on 127.0.1.1:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_world_files_name_file_and_key(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[[provider]\nname = 'x'\n")
    with pytest.raises(SandboxError, match=r"broken\.toml: not valid TOML"):
        SandboxConfig.load(broken)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(
        "[[provider]]\nname = 'x'\ndomains = ['x.sandbox']\n"
        "mx = [{ host = 'mx.x.sandbox', ip = '127.0.9.1' }]\n"
        "rate_limit = { max_connections = 'many' }\n"
    )
    with pytest.raises(
        SandboxError, match=r"wrong\.toml: provider\[0\]\.rate_limit\.max_connections: expected"
    ):
        SandboxConfig.load(wrong)
    public = tmp_path / "public.toml"
    public.write_text(
        "[[provider]]\nname = 'x'\ndomains = ['x.sandbox']\n"
        "mx = [{ host = 'mx.x.sandbox', ip = '8.8.8.8' }]\n"
    )
    with pytest.raises(
        SandboxError, match=r"provider\[0\]\.mx\[0\]\.ip: 8\.8\.8\.8 is not a loopback"
    ):
        SandboxConfig.load(public)
    with pytest.raises(SandboxError, match=r"missing\.toml: cannot read"):
        SandboxConfig.load(tmp_path / "missing.toml")
