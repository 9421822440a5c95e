"""``sendwell campaigns edit|show|preview|render|test``: a campaign's content.

Added to the ``campaigns`` group; ``cli/main.py`` imports this module.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from sendwell.app import App
from sendwell.campaigns.content import campaign_content, edit_campaign_content
from sendwell.campaigns.preview import Preview, preview_message
from sendwell.campaigns.service import get_campaign
from sendwell.cli import context
from sendwell.cli.campaigns import campaigns_app
from sendwell.cli.content_options import body_option, print_warnings, read_source
from sendwell.cli.context import err, out
from sendwell.content.library import as_layout, content_source, get_template
from sendwell.errors import InvalidInput


@campaigns_app.command("edit")
def edit(
    campaign_id: int = typer.Argument(..., help="The draft campaign to change."),
    subject: str | None = typer.Option(None, help="New subject line (a template)."),
    name: str | None = typer.Option(None, help="New internal name."),
    template: str | None = typer.Option(
        None, help="Replace the content with a copy of this library template's."
    ),
    html: Path | None = typer.Option(None, help="Replace the body with this HTML file."),
    markdown: Path | None = typer.Option(None, help="Replace the body with this Markdown file."),
    mjml: Path | None = typer.Option(None, help="Replace the body with this MJML file."),
    text: Path | None = typer.Option(None, help="Replace the text version with this file."),
    no_text: bool = typer.Option(
        False, "--no-text", help="Drop the text version (it is then made from the HTML)."
    ),
    layout: str | None = typer.Option(None, help="Wrap the content in this library layout."),
    no_layout: bool = typer.Option(False, "--no-layout", help="Remove the layout."),
) -> None:
    """Change a draft's subject, name or content (running campaigns cannot change)."""
    body = body_option(html, markdown, mjml)
    if text is not None and no_text:
        raise InvalidInput("give --text or --no-text, not both")
    if layout is not None and no_layout:
        raise InvalidInput("give --layout or --no-layout, not both")
    if body is not None and template is not None:
        raise InvalidInput("give --template or a body file, not both")
    changes = (subject, name, template, body, text, layout)
    if all(c is None for c in changes) and not (no_text or no_layout):
        raise InvalidInput("nothing to change; see --help")
    with context.opened() as a, a.engine.begin() as conn:
        campaign = get_campaign(conn, campaign_id)
        origin = None
        if template is not None:
            origin = get_template(conn, template)
            source = content_source(conn, origin, subject=subject)
        else:
            source = campaign_content(conn, campaign_id).source(subject or campaign.subject)
        if body is not None:
            source = replace(source, format=body[0], body=body[1])
        if text is not None or no_text:
            source = replace(source, text=read_source(text) if text is not None else None)
        if layout is not None or no_layout:
            source = replace(
                source, layout=as_layout(get_template(conn, layout)) if layout else None
            )
        saved = edit_campaign_content(
            conn, campaign_id, source, now=a.clock.now(), name=name, origin=origin
        )
    print_warnings(saved.warnings)
    out.print(f"campaign {campaign_id} updated")


@campaigns_app.command("show")
def show(
    campaign_id: int = typer.Argument(..., help="The campaign to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a campaign's settings and where its content came from."""
    with context.opened() as a, a.engine.connect() as conn:
        campaign = get_campaign(conn, campaign_id)
        content = campaign_content(conn, campaign_id)
    info = {
        "id": campaign.id, "name": campaign.name, "state": campaign.state,
        "subject": campaign.subject, "from": campaign.from_email,
        "from_name": campaign.from_name, "lists": list(campaign.list_ids),
        "pool": campaign.pool, "format": content.format,
        "layout": content.layout.name if content.layout else None,
        "template": content.template_name, "template_version": content.template_version,
        "text_version": "own" if content.text is not None else "made from the HTML",
        "html_bytes": len(campaign.html_template.encode()),
    }  # fmt: skip
    if as_json:
        print(json.dumps(info))
        return
    table = Table("field", "value", title=f"campaign {campaign_id}", show_header=False)
    for key, value in info.items():
        table.add_row(key, "" if value is None else escape(str(value)))
    out.print(table)


def _preview(a: App, campaign_id: int, email: str | None) -> Preview:
    with a.engine.connect() as conn:
        return preview_message(conn, a.message_builder(), campaign_id, email_address=email)


def _write(data: str | bytes, output: Path | None) -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if output is None:
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(raw)
        err.print(f"wrote {len(raw)} bytes to {output}", markup=False)


def _notes(preview: Preview) -> None:
    if preview.outbox_id is None:
        err.print("note: links carry a placeholder until the campaign starts", markup=False)
    if not preview.in_audience:
        err.print(f"note: {preview.email} is not a confirmed subscriber of the campaign's "
                  "lists; it would not be sent", markup=False)  # fmt: skip


@campaigns_app.command("preview")
def preview(
    campaign_id: int = typer.Argument(..., help="The campaign to preview."),
    as_email: str | None = typer.Option(
        None, "--as", help="Personalize for this subscriber (default: the first on its lists)."
    ),
    html: bool = typer.Option(False, "--html", help="Print only the HTML part."),
    text: bool = typer.Option(False, "--text", help="Print only the text part."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file."),
) -> None:
    """Show the subject, text and HTML a subscriber would receive (links as sent)."""
    if html and text:
        raise InvalidInput("give --html or --text, not both")
    with context.opened() as a:
        result = _preview(a, campaign_id, as_email)
    _notes(result)
    if html:
        _write(result.html, output)
    elif text:
        _write(result.text, output)
    else:
        _write(f"Subject: {result.subject}\nTo: {result.email}\n\n{result.text}", output)


@campaigns_app.command("render")
def render(
    campaign_id: int = typer.Argument(..., help="The campaign to render."),
    to: str = typer.Option(..., "--to", help="The subscriber to render the message for."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file."),
) -> None:
    """Write the exact RFC 5322 message (DKIM-signed) that would be sent to a subscriber.

    The bytes come from the delivery workers' own builder; only Date and the random part
    of Message-ID differ between two renders.
    """
    with context.opened() as a:
        result = _preview(a, campaign_id, to)
    _notes(result)
    _write(result.message, output)


@campaigns_app.command("test")
def send_test_command(
    campaign_id: int = typer.Argument(..., help="The campaign to test."),
    to: list[str] = typer.Option(..., "--to", help="Send the test here (repeatable)."),
    as_email: str | None = typer.Option(
        None, "--as", help="Personalize as this subscriber (default: the first on its lists)."
    ),
) -> None:
    """Send the campaign's message, marked [TEST], to the given addresses now.

    It goes over the same routes as the campaign (direct to MX, or relays per the shaping
    file); campaign counts and caps are untouched; each outcome is recorded as an event.
    """
    with context.opened() as a:
        prepared, results = asyncio.run(a.send_test(campaign_id, to=to, as_email=as_email))
    table = Table("address", "result", "reply", "server",
                  title=f"campaign {campaign_id}: test as {prepared.personalized_for}")  # fmt: skip
    for r in results:
        table.add_row(escape(r.rcpt), "accepted" if r.ok else "failed",
                      escape(f"{r.code or ''} {r.reply}".strip()), r.host or "")  # fmt: skip
    out.print(table)
    failed = sum(not r.ok for r in results)
    if failed:
        err.print(f"error: {failed} of {len(results)} test messages were not accepted")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """The commands are on ``campaigns_app`` already; importing this module adds them."""
