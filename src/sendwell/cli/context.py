"""What every command needs: settings, an opened app, consoles, and one-line errors.

The application (``sendwell.app``, which imports every capability) is imported when a
command opens it, not with this module: ``sendwell worker`` supervising its processes
needs only the settings, and starts its workers a second sooner for it.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from sendwell.config import Settings, load_settings
from sendwell.errors import SendwellError

if TYPE_CHECKING:
    from sendwell.app import App

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def command_set() -> typer.Typer:
    """An empty ``sendwell`` command group, for commands to register on."""
    return typer.Typer(
        name="sendwell",
        help="sendwell: self-hosted, deliverability-first bulk email.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )


def run(app: typer.Typer) -> None:
    """Run a command set on the command line: every error sendwell raises on purpose ends
    with a one-line ``error: ...`` and status 1, Ctrl-C with status 130."""
    try:
        app()
    except SendwellError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


def settings() -> Settings:
    return load_settings()[0]


@contextmanager
def opened(*, create: bool = False, config: Settings | None = None) -> Iterator[App]:
    from sendwell.app import open_app

    if config is None:
        config, sources = load_settings()
        app = open_app(config, create=create, sources=sources)
    else:
        app = open_app(config, create=create)
    try:
        yield app
    finally:
        app.close()


class _Formatter(logging.Formatter):
    """The standard formatter, with the date and time formatted once per second.

    Workers log one line per delivery attempt, thousands a second, and ``strftime`` was
    the costliest part of each line.
    """

    _second = -1
    _stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = second
        msec_format = self.default_msec_format
        return msec_format % (self._stamp, record.msecs) if msec_format else self._stamp


def setup_logging(level: str, *, stream: object = None, filename: str | None = None) -> None:
    handler: logging.Handler
    if filename is not None:
        handler = logging.FileHandler(filename)
    else:
        handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(_Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    # The format names none of these; each costs work on every record, and workers write
    # one record per delivery attempt (the logging HOWTO's "Optimization" section).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # no caller file and line: skips a walk up the stack
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Migrations run at every start; their chatter is not news.
    logging.getLogger("alembic").setLevel(logging.WARNING)
