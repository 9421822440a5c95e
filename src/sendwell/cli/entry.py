"""The ``sendwell`` command's entry point: ``worker`` straight away, every other command
through the full command set (:mod:`sendwell.cli.main`).

``sendwell worker`` is what process supervisors start and restart, and with
``--processes N`` it only supervises. Importing the other commands first (the web stack,
the importer, the reports) kept it about a second from starting its first worker process.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:2] == ["worker"]:
        from sendwell.cli.worker import command_line

        command_line()
        return
    from sendwell.cli.main import main as everything

    everything()
