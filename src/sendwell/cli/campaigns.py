"""Commands for campaigns: create, start, status, pause, resume, cancel.

Content commands (edit, show, preview, render, test) are in ``cli/campaign_content.py``,
preflight (check, settings) in ``cli/preflight.py``; both add to the same group.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from sendwell.audience.lists import find_list
from sendwell.campaigns.content import create_campaign_with_content
from sendwell.campaigns.records import CampaignStatus
from sendwell.campaigns.service import (
    all_campaigns,
    campaign_status,
    cancel_campaign,
    pause_campaign,
    resume_campaign,
)
from sendwell.cli import context
from sendwell.cli.content_options import body_option, new_content, print_warnings
from sendwell.cli.context import out

campaigns_app = typer.Typer(help="Campaigns.", no_args_is_help=True)


@campaigns_app.command("create")
def create(
    subject: str | None = typer.Option(
        None, help="Subject line (a template); defaults to the library template's subject."
    ),
    from_email: str = typer.Option(..., "--from", help="Sender address."),
    from_name: str = typer.Option("", help="Sender display name."),
    list_names: list[str] = typer.Option(..., "--list", help="Audience list (repeatable)."),
    template: str | None = typer.Option(
        None, help="Copy the content of this library template (see `sendwell templates`)."
    ),
    html: Path | None = typer.Option(None, help="HTML body file (Jinja2)."),
    markdown: Path | None = typer.Option(None, help="Markdown body file (Jinja2)."),
    mjml: Path | None = typer.Option(None, help="MJML body file (Jinja2)."),
    text: Path | None = typer.Option(None, help="Text version; made from the HTML if absent."),
    layout: str | None = typer.Option(
        None, help="Wrap the content in this library layout (overrides the template's)."
    ),
    name: str = typer.Option("", help="Internal name; defaults to the subject."),
    pool: str = typer.Option("default", help="Pool of sending sources (shaping file)."),
) -> None:
    """Create a draft campaign from a library template or from body files.

    The campaign keeps a copy of its content: editing the template later does not change
    it. Content is checked now (syntax, undefined names, with line numbers); warnings are
    printed and the draft is created.
    """
    body = body_option(html, markdown, mjml)
    with context.opened() as a, a.engine.begin() as conn:
        list_ids = [find_list(conn, n).id for n in list_names]
        source, origin = new_content(
            conn, subject=subject, body=body, template=template, text=text, layout=layout
        )
        saved = create_campaign_with_content(
            conn, source, name=name, from_email=from_email, from_name=from_name,
            list_ids=list_ids, now=a.clock.now(), pool=a.shaping().pool(pool)[0].pool,
            origin=origin,
        )  # fmt: skip
    print_warnings(saved.warnings)
    out.print(f"campaign {saved.campaign.id} created (draft)")


@campaigns_app.command("ls")
def ls() -> None:
    """List campaigns."""
    with context.opened() as a, a.engine.connect() as conn:
        rows = all_campaigns(conn)
    table = Table("id", "name", "state", "subject", "created")
    for c in rows:
        table.add_row(str(c.id), c.name, c.state, c.subject, c.created_at.isoformat(" ", "seconds"))
    out.print(table)


def print_status(status: CampaignStatus, as_json: bool) -> None:
    if as_json:
        print(json.dumps(status.as_json()))
        return
    table = Table("status", "recipients", title=f"campaign {status.campaign}: {status.state}")
    for key, n in status.counts.items():
        table.add_row(key, str(n))
    table.add_row("total", str(status.total))
    out.print(table)


@campaigns_app.command("start")
def start(campaign_id: int) -> None:
    """Queue one message per eligible recipient and start sending (workers deliver).

    Refused, with each blocker and its fix, when preflight (`campaigns check`) finds any.
    """
    with context.opened() as a:
        status = a.start_campaign(campaign_id)
    out.print(
        f"campaign {campaign_id} started: {status.counts['queued']} queued, "
        f"{status.counts['suppressed']} suppressed"
    )


@campaigns_app.command("status")
def status(
    campaign_id: int,
    as_json: bool = typer.Option(False, "--json", help="Print the stable JSON form."),
) -> None:
    """Show how many recipients are in each delivery state."""
    with context.opened() as a, a.engine.connect() as conn:
        result = campaign_status(conn, campaign_id)
    print_status(result, as_json)


@campaigns_app.command("pause")
def pause(campaign_id: int) -> None:
    """Stop handing this campaign's messages to workers until resumed."""
    with context.opened() as a, a.engine.begin() as conn:
        pause_campaign(conn, campaign_id)
    out.print(f"campaign {campaign_id} paused")


@campaigns_app.command("resume")
def resume(campaign_id: int) -> None:
    """Continue a paused campaign where it stopped."""
    with context.opened() as a, a.engine.begin() as conn:
        resume_campaign(conn, campaign_id, now=a.clock.now())
    out.print(f"campaign {campaign_id} resumed")


@campaigns_app.command("cancel")
def cancel(campaign_id: int) -> None:
    """Stop for good; recipients not yet delivered are marked cancelled."""
    with context.opened() as a, a.engine.begin() as conn:
        cancel_campaign(conn, campaign_id, now=a.clock.now())
    out.print(f"campaign {campaign_id} cancelled")


def register(app: typer.Typer) -> None:
    app.add_typer(campaigns_app, name="campaigns")
