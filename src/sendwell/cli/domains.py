"""Commands for sending domains: add (generate DKIM keys, print DNS records), ls, check.

Private keys are generated here, stored encrypted, and never printed; only the DNS
records to publish are shown.
"""

from __future__ import annotations

import asyncio

import typer
from rich.table import Table

from sendwell.app import App
from sendwell.cli import context
from sendwell.cli.context import out
from sendwell.compose.dkim import public_key_b64
from sendwell.domains.check import DnsLookup, check_domain
from sendwell.domains.records import DnsRecordSpec, parse_sources, required_records
from sendwell.domains.store import SendingDomain, add_domain, all_domains, get_domain
from sendwell.errors import ConflictError

domains_app = typer.Typer(help="Sending domains: DKIM keys and DNS records.", no_args_is_help=True)


def _records(a: App, d: SendingDomain) -> list[DnsRecordSpec]:
    key = a.secret_key()
    return required_records(
        domain=d.domain,
        selector=d.selector,
        private_pem=d.private_pem(key),
        ed25519_selector=d.ed25519_selector,
        ed25519_pem=d.ed25519_pem(key),
        spf_sources=parse_sources(a.settings.spf_sources),
        bounce_domain=a.settings.bounce_domain,
        mail_host=a.helo_name(),
    )


def _print_records(records: list[DnsRecordSpec]) -> None:
    for r in records:
        value = r.value
        if r.rtype == "TXT":
            # A TXT string holds at most 255 bytes; longer values are several strings.
            value = " ".join(f'"{r.value[i : i + 255]}"' for i in range(0, len(r.value), 255))
        # One plain line per record, so it can be copied into a zone file as it is.
        out.print(f"; {r.purpose}", soft_wrap=True)
        out.print(f"{r.name}. IN {r.rtype} {value}", soft_wrap=True)


@domains_app.command("add")
def add(
    domain: str = typer.Argument(..., help="The From domain to send as, e.g. example.com."),
    selector: str = typer.Option("sw1", help="DKIM selector (one DNS label)."),
    ed25519: bool = typer.Option(
        False, "--ed25519", help="Also make an Ed25519 key (RFC 8463) for a second signature."
    ),
) -> None:
    """Generate DKIM keys for DOMAIN and print the DNS records to publish."""
    with context.opened() as a, a.engine.begin() as conn:
        added = add_domain(
            conn, domain, selector=selector, ed25519=ed25519,
            secret_key=a.secret_key(), now=a.clock.now(),
        )  # fmt: skip
        records = _records(a, added)
    out.print(f"sending domain {added.domain} added; publish these DNS records:")
    _print_records(records)


@domains_app.command("ls")
def ls() -> None:
    """List sending domains and their DKIM selectors."""
    with context.opened() as a, a.engine.connect() as conn:
        rows = all_domains(conn)
    table = Table("domain", "selector", "ed25519 selector", "added")
    for d in rows:
        table.add_row(
            d.domain, d.selector, d.ed25519_selector or "-", d.created_at.isoformat(" ", "seconds")
        )
    out.print(table)


@domains_app.command("records")
def records(domain: str = typer.Argument(..., help="A sending domain added before.")) -> None:
    """Print again the DNS records DOMAIN needs."""
    with context.opened() as a, a.engine.connect() as conn:
        _print_records(_records(a, get_domain(conn, domain)))


@domains_app.command("check")
def check(domain: str = typer.Argument(..., help="A sending domain added before.")) -> None:
    """Verify over DNS that SPF covers the sources, the DKIM key matches, DMARC aligns."""
    with context.opened() as a, a.engine.connect() as conn:
        d = get_domain(conn, domain)
        key = a.secret_key()
        selectors = [(d.selector, public_key_b64(d.private_pem(key)))]
        ed_pem = d.ed25519_pem(key)
        if d.ed25519_selector and ed_pem:
            selectors.append((d.ed25519_selector, public_key_b64(ed_pem)))
        findings = asyncio.run(
            check_domain(
                DnsLookup(a.settings.dns_nameserver()),
                domain=d.domain,
                selectors=selectors,
                spf_sources=a.settings.spf_sources,
                bounce_domain=a.settings.bounce_domain,
            )
        )
    table = Table("check", "result", "detail", "fix", title=f"{d.domain}")
    for f in findings:
        table.add_row(f.check, "ok" if f.ok else "FAIL", f.detail, f.fix)
    out.print(table)
    failed = [f.check for f in findings if not f.ok]
    if failed:
        raise ConflictError(f"{d.domain}: {len(failed)} check(s) failed: {', '.join(failed)}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``sendwell`` application."""
    app.add_typer(domains_app, name="domains")
