"""`sendwell sandbox`: run the simulated internet in the foreground until Ctrl-C.

Prints the world (providers, their domains and MX hosts) and the settings that point
sendwell at it. A world that cannot start (port in use, bad profile file) prints one
``error: ...`` line to stderr and exits with status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sendwell.errors import SandboxError
from sendwell.sandbox import Sandbox, SandboxConfig

__all__ = ["register", "sandbox_command", "world_table"]


def world_table(sandbox: Sandbox) -> Table:
    """Providers -> domains -> MX host and address, as listening now."""
    host, port = sandbox.dns_address
    table = Table(title=f"sendwell sandbox (DNS {host}:{port})")
    table.add_column("provider")
    table.add_column("domains")
    table.add_column("MX (preference host ip:port)")
    for provider in sandbox.config.providers:
        mx_lines = [
            f"{mx.preference} {mx.hostname} {mx.ip}:{sandbox.smtp_port}" for mx in provider.mx_hosts
        ]
        domains = [*provider.domains, *provider.accept_domains]
        table.add_row(provider.name, "\n".join(domains), "\n".join(mx_lines))
    return table


async def _serve(sandbox: Sandbox, console: Console) -> None:
    async with sandbox:
        console.print(world_table(sandbox))
        host, port = sandbox.dns_address
        console.print(
            f"SENDWELL_DNS_RESOLVER={host}:{port}  SENDWELL_SMTP_PORT={sandbox.smtp_port}",
            highlight=False,
        )
        console.print("Press Ctrl-C to stop.", style="dim")
        await asyncio.Event().wait()  # until Ctrl-C cancels the main task


def sandbox_command(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="World file (TOML); default: the shipped world."),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option("--record", help="Append one JSON line per accepted message and recipient."),
    ] = None,
    dns_port: Annotated[int, typer.Option("--dns-port", help="DNS port (UDP and TCP).")] = 10053,
    smtp_port: Annotated[
        int, typer.Option("--smtp-port", help="SMTP port shared by every MX host.")
    ] = 2525,
) -> None:
    """Run the simulated internet (DNS + provider MX servers) on loopback until Ctrl-C."""
    console = Console()
    try:
        world = SandboxConfig.load(config).with_ports(dns_port, smtp_port)
        sandbox = Sandbox(world, record_path=record)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(sandbox, console))
    except SandboxError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    console.print("sandbox stopped")


def register(app: typer.Typer) -> None:
    """Add the ``sandbox`` command to the sendwell CLI."""
    app.command("sandbox")(sandbox_command)
