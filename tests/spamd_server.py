"""A real SpamAssassin ``spamd`` on a free loopback port, for tests that score messages.

It runs offline: ``-L`` (local tests only: no RBL, URIBL or DNS lookups), ``-x`` (no
per-user configuration), no ``sa-update`` — the rules are the ones Debian's
``spamassassin`` package ships in ``/usr/share/spamassassin``. Rules are not compiled
(``sa-compile`` only speeds up body rules; scores are the same).

Readiness is spamd's own "server started" log line followed by a ``PING`` answered with
``PONG``; the process is stopped with SIGTERM (then SIGKILL) by its own pid.
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sendwell.content.spamd import SpamdClient
from tests.conftest import require_tool

START_TIMEOUT = 90.0  # loading the rule set takes seconds; much longer on a busy machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_started(proc: subprocess.Popen[bytes], deadline: float) -> list[str]:
    """Read spamd's log until it says the server started; returns the lines read."""
    assert proc.stderr is not None
    seen: list[str] = []
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=deadline - time.monotonic()):
                break
            line = proc.stderr.readline().decode("utf-8", "replace")
            if not line:  # spamd exited
                break
            seen.append(line.rstrip())
            if "server started on" in line:
                return seen
    raise RuntimeError("spamd did not start:\n" + "\n".join(seen[-20:]))


@contextmanager
def running_spamd(workdir: Path) -> Iterator[SpamdClient]:
    binary = shutil.which("spamd") or shutil.which("spamd", path="/usr/sbin")
    if binary is None:
        require_tool("spamd is not installed (Debian package spamd; scripts/system-deps.sh)")
    port = _free_port()
    args = [
        binary, f"--listen=127.0.0.1:{port}", "--local", "--nouser-config",
        "--max-children=1", "--min-children=1", "--syslog=stderr",
        f"--pidfile={workdir / 'spamd.pid'}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        args.append("--username=nobody")  # spamd refuses to scan as root
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=workdir)  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        _wait_started(proc, deadline)
        client = SpamdClient("127.0.0.1", port, timeout=60.0)
        if not client.ping():
            raise RuntimeError(f"spamd on port {port} started but does not answer PING")
        # Drain the log in the background so a full pipe never blocks spamd.
        stderr = proc.stderr
        assert stderr is not None
        drain = threading.Thread(target=lambda: stderr.read(), daemon=True)
        drain.start()
        try:
            yield client
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            drain.join(timeout=20)
            stderr.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None and not proc.stderr.closed:
            proc.stderr.close()
