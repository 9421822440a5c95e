"""``sendwell worker``: run delivery workers until interrupted.

With ``--processes N`` (or the ``worker_processes`` setting) the command supervises N
worker processes — building and signing messages is CPU-bound, so one process per core
uses the machine. Each child runs one worker (``python -m sendwell.cli.worker``, see
:func:`child_command`) sharing the database queue (and Redis limits, when configured).
SIGINT/SIGTERM stop every child cleanly; their unfinished rows go back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import typer

from sendwell.cli import context
from sendwell.cli.context import err
from sendwell.errors import ConfigError, SendwellError


def run_loop(coro: Coroutine[Any, Any, None]) -> None:
    """Run the worker's event loop on uvloop where available (libuv: far less per-socket
    overhead than the pure-Python loop on the SMTP hot path), else on asyncio's own."""
    try:
        import uvloop
    except ImportError:  # e.g. a platform without uvloop wheels
        asyncio.run(coro)
        return
    uvloop.run(coro)


def _run_one(drain: bool) -> None:
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

        run_loop(main())
    err.print(
        f"worker {os.getpid()} stopped: {w.attempts} attempts, {w.delivered} delivered, "
        f"peak RSS {peak_rss_mb():.1f} MB"
    )


def peak_rss_mb() -> float:
    """This process's own peak resident memory, in MB.

    Linux's ``VmHWM`` counts only this program's memory; ``getrusage``'s ``ru_maxrss``
    also counts what the process held before ``exec`` — a copy of its parent's memory
    at ``fork`` — so a small worker started by a large parent would report the parent's
    size. Elsewhere, ``ru_maxrss`` is the best there is.
    """
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes there, KB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def _stop_with(supervisor: int) -> Callable[[], None]:
    """A ``preexec_fn`` for a child: ask Linux to send SIGTERM when the supervisor dies.

    A supervisor killed with SIGKILL cannot forward anything; without this its workers
    would go on forever as orphans. A supervisor that died between the fork and the
    ``prctl`` call sends no signal at all, so the child checks its parent afterwards and
    exits at once if it is already an orphan. Elsewhere than Linux this does nothing.
    """

    def preexec() -> None:
        if not sys.platform.startswith("linux"):
            return
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != supervisor:
            os._exit(1)

    return preexec


def child_command(drain: bool) -> list[str]:
    """The command line of one supervised worker process.

    It runs this module (see the end of the file) rather than the whole ``sendwell``
    command: a worker needs none of the web stack the other commands import, so each
    process starts sooner and holds ~35 MB less.
    """
    return [sys.executable, "-m", "sendwell.cli.worker", *(["--drain"] if drain else [])]


def _supervise(processes: int, drain: bool) -> int:
    args = child_command(drain)
    children = [
        subprocess.Popen(args, preexec_fn=_stop_with(os.getpid()))  # noqa: S603
        for _ in range(processes)
    ]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    codes = [child.wait() for child in children]
    return max((c for c in codes if c > 0), default=0)


def worker(
    drain: bool = typer.Option(
        False, "--drain", help="Exit once nothing is due instead of waiting for more work."
    ),
    processes: int | None = typer.Option(
        None,
        "--processes",
        help="Worker processes to run (0: one per CPU core); default: the worker_processes "
        "setting.",
    ),
) -> None:
    """Deliver queued messages: lease outbox rows, send over SMTP, record outcomes."""
    count = context.settings().worker_processes if processes is None else processes
    if count < 0:
        raise ConfigError("worker_processes must be 0 (one per CPU core) or more")
    count = count or os.cpu_count() or 1
    if count == 1:
        _run_one(drain)
        return
    code = _supervise(count, drain)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def command_line() -> None:
    """``sendwell worker ...`` with no other command loaded (see ``sendwell.cli.entry``):
    the same options, help and errors as in the full command set."""
    app = context.command_set()
    register(app)

    @app.callback()
    def _group() -> None:
        # A group, as in the full set: "worker" stays a subcommand name, not an argument.
        pass

    context.run(app)


def _child_main(argv: list[str]) -> None:
    """``python -m sendwell.cli.worker [--drain]``: one worker process, as a supervisor
    starts it; errors end the same way as in the ``sendwell`` command."""
    if set(argv) - {"--drain"}:
        err.print(f"error: unexpected arguments {argv}", markup=False)
        sys.exit(2)
    try:
        _run_one("--drain" in argv)
    except SendwellError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    _child_main(sys.argv[1:])
