"""Commands for sending domains: add (generate DKIM keys, print DNS records), ls, check.

Private keys are generated here, stored encrypted, and never printed; only the DNS
records to publish are shown.
"""

from __future__ import annotations

import typer
from rich.table import Table

from sendwell.cli import context
from sendwell.cli.context import out
from sendwell.domains.records import DnsRecordSpec
from sendwell.domains.store import add_domain, all_domains, get_domain
from sendwell.errors import ConflictError

domains_app = typer.Typer(help="Sending domains: DKIM keys and DNS records.", no_args_is_help=True)


def _print_records(records: list[DnsRecordSpec]) -> None:
    for r in records:
        # One plain line per record, so it can be copied into a zone file as it is.
        out.print(f"; {r.purpose}", soft_wrap=True)
        out.print(r.zone_line, soft_wrap=True, markup=False)


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
        records = a.domain_records(added)
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
        _print_records(a.domain_records(get_domain(conn, domain)))


@domains_app.command("check")
def check(domain: str = typer.Argument(..., help="A sending domain added before.")) -> None:
    """Verify over DNS that SPF covers the sources, the DKIM key matches, DMARC aligns."""
    with context.opened() as a:
        with a.engine.connect() as conn:
            d = get_domain(conn, domain)
        findings = a.check_sending_domain(d)
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
