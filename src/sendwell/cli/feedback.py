"""Commands of the feedback capability: ``feedback parse``, ``feedback ingest``,
``feedback poll-imap`` and ``inbound`` (the SMTP server for the bounce domain)."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from pathlib import Path

import typer

from sendwell.app import App, open_app
from sendwell.cli import context
from sendwell.cli.context import out
from sendwell.config import Settings, parse_host_port
from sendwell.errors import ConfigError, InvalidInput
from sendwell.feedback.ingest import Ingested, Ingestor
from sendwell.feedback.parse import parse_feedback
from sendwell.feedback.policy import FeedbackPolicy
from sendwell.feedback.records import FeedbackReport

feedback_app = typer.Typer(
    help="Bounces, complaints and unsubscribe replies.", no_args_is_help=True
)

# Files larger than this are read only in part: a report's meaning is in its first parts.
_READ_LIMIT = 4 * 1024 * 1024


def _signing_key(settings: Settings) -> bytes:
    """The key that verifies VERP and reference tokens, without creating anything.

    ``parse`` must work on a machine without a data directory; then no token can be
    verified, so a random key is used (an empty one would let anyone forge tokens)."""
    configured = settings.secret_key.reveal()
    if configured:
        return configured.encode()
    try:
        return (settings.data_dir / "secret.key").read_bytes().strip()
    except OSError:
        return secrets.token_bytes(32)


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(_READ_LIMIT)
    except FileNotFoundError:
        raise InvalidInput(f"{path} does not exist") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None


def _describe(report: FeedbackReport) -> str:
    lines = [f"{report.kind} (format {report.format or '-'}, outbox {report.outbox_id})"]
    for r in report.recipients:
        words = (r.classification, r.reason, r.status, r.diagnostic)
        lines.append(f"  {r.address or '?'}: " + " ".join(w for w in words if w))
    lines.extend(f"  note: {n}" for n in report.notes)
    return "\n".join(lines)


@feedback_app.command("parse")
def parse(
    file: Path | None = typer.Argument(None, help="The message (.eml) to parse."),
    as_json: bool = typer.Option(False, "--json", help="Print the stable JSON contract."),
    batch: bool = typer.Option(
        False, "--batch", help="Read message paths from stdin, one per line; one JSON line each."
    ),
) -> None:
    """Print what sendwell understands of a bounce, complaint or reply. Changes nothing."""
    key = _signing_key(context.settings())
    if batch:
        for line in sys.stdin:
            path = line.strip()
            if not path:
                continue
            try:
                doc = parse_feedback(_read(Path(path)), key).to_json()
            except InvalidInput as exc:
                doc = {"kind": "unknown", "recipients": [], "outbox_id": None, "error": str(exc)}
            print(json.dumps({"path": path, **doc}), flush=True)
        return
    if file is None:
        raise InvalidInput("give a message file, or --batch to read paths from stdin")
    report = parse_feedback(_read(file), key)
    if as_json:
        print(json.dumps(report.to_json()))
    else:
        out.print(_describe(report), markup=False)


def _ingestor(settings: Settings) -> tuple[Ingestor, App]:
    app = open_app(settings)
    return (
        Ingestor(
            engine=app.engine,
            key=app.secret_key(),
            policy=FeedbackPolicy.from_settings(settings),
            clock=app.clock,
        ),
        app,
    )


def _print_ingested(done: Ingested) -> None:
    actions = ", ".join(f"{a.kind} {a.email}".strip() for a in done.actions) or "no action"
    out.print(f"{done.report.kind} outbox={done.report.outbox_id}: {actions}", markup=False)


@feedback_app.command("ingest")
def ingest(
    file: Path | None = typer.Argument(None, help="The message file; stdin when absent."),
    rcpt: str = typer.Option(
        "", help="Envelope recipient the message was addressed to (e.g. from the MTA)."
    ),
) -> None:
    """Parse one message and apply it: suppress, unsubscribe, pause campaigns.

    For MTAs that deliver bounces to a program (e.g. a Postfix pipe transport)."""
    raw = _read(file) if file is not None else sys.stdin.buffer.read(_READ_LIMIT)
    ingestor, app = _ingestor(context.settings())
    try:
        _print_ingested(ingestor.ingest(raw, envelope_rcpt=rcpt or None))
    finally:
        app.close()


@feedback_app.command("poll-imap")
def poll_imap(
    once: bool = typer.Option(False, "--once", help="Poll every mailbox once, then exit."),
    interval: float = typer.Option(60.0, help="Seconds between polls."),
) -> None:
    """Fetch unseen messages from the `imap_mailboxes`, apply them, and mark them seen."""
    from sendwell.feedback.imap import parse_mailbox_urls, poll_forever, poll_once

    settings = context.settings()
    mailboxes = parse_mailbox_urls(settings.imap_mailboxes.reveal())
    if not mailboxes:
        raise ConfigError("no mailboxes configured: set imap_mailboxes")
    ingestor, app = _ingestor(settings)
    try:
        if once:
            for done in poll_once(mailboxes, ingestor):
                _print_ingested(done)
        else:
            poll_forever(mailboxes, ingestor, interval=interval, on_ingested=_print_ingested)
    finally:
        app.close()


def inbound(
    listen: str = typer.Option(
        "", help="host:port to listen on. Default: the `inbound_listen` setting."
    ),
    domain: list[str] = typer.Option(
        [], "--domain", help="Domain to accept mail for (repeatable). Default: `bounce_domain`."
    ),
) -> None:
    """Run the SMTP server that receives bounces, complaints and unsubscribe replies."""
    from sendwell.feedback.inbound import InboundHandler, InboundServer

    settings = context.settings()
    context.setup_logging(settings.log_level)
    domains = domain or [settings.bounce_domain]
    if not any(domains):
        raise ConfigError("no domain to accept mail for: set bounce_domain or give --domain")
    address = parse_host_port(listen or settings.inbound_listen, default_port=25, name="listen")
    if address is None:
        raise ConfigError("no address to listen on: set inbound_listen or give --listen")
    ingestor, app = _ingestor(settings)

    async def serve() -> None:
        server = InboundServer(
            InboundHandler(ingestor, domains, on_ingested=_print_ingested),
            host=address[0],
            port=address[1],
            max_message_bytes=settings.inbound_max_message_bytes,
            hostname=app.helo_name(),
        )
        await server.start()
        out.print(f"inbound SMTP on {address[0]}:{server.port} for {', '.join(domains)}")
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        asyncio.run(serve())
    finally:
        app.close()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``sendwell`` application."""
    app.add_typer(feedback_app, name="feedback")
    app.command("inbound")(inbound)
