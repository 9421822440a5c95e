"""``sendwell worker``: run a delivery worker until interrupted."""

from __future__ import annotations

import asyncio
import signal

import typer

from sendwell.cli import context
from sendwell.cli.context import err


def worker(
    drain: bool = typer.Option(
        False, "--drain", help="Exit once nothing is due instead of waiting for more work."
    ),
) -> None:
    """Deliver queued messages: lease outbox rows, send over SMTP, record outcomes."""
    settings = context.settings()
    context.setup_logging(settings.log_level)
    with context.opened(config=settings) as a:
        w = a.worker()

        async def main() -> None:
            if drain:
                await w.drain()
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await w.run(stop=stop)

        asyncio.run(main())
    err.print(f"worker stopped: {w.attempts} attempts, {w.delivered} delivered")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
