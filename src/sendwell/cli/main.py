"""The ``sendwell`` command set: every command, and the top-level ones (``init``, ``config``).

Every error sendwell raises on purpose (:class:`~sendwell.errors.SendwellError`) ends the
command with a one-line ``error: ...`` on stderr and exit status 1 — never a traceback.
Ctrl-C exits with status 130 after a clean stop (:func:`sendwell.cli.context.run`). The
console script enters through :mod:`sendwell.cli.entry`, which starts ``worker`` without
importing the rest.
"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from sendwell.cli import (
    audience,
    campaign_content,
    campaigns,
    context,
    delivery,
    demo,
    domains,
    feedback,
    preflight,
    report,
    sandbox,
    serve,
    templates,
    users,
    verify,
    worker,
)
from sendwell.cli.context import out
from sendwell.config import effective_settings, load_settings
from sendwell.store.engine import describe, is_sqlite, sqlite_library
from sendwell.store.migrate import current_revisions

app = context.command_set()
config_app = typer.Typer(help="Inspect settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@app.command()
def init() -> None:
    """Create the data directory and database, and migrate it to the current schema."""
    with context.opened(create=True) as a:
        a.secret_key()
        url = describe(a.settings.database_url_value())
        schema = ", ".join(sorted(current_revisions(a.engine)))
        engine = f", SQLite {sqlite_library()}" if is_sqlite(a.engine) else ""
        out.print(f"database {url} ready (schema {schema}{engine})")


@config_app.command("show")
def config_show(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Print every setting, its value (secrets as stars) and where the value came from."""
    settings, sources = load_settings()
    rows = [
        {"name": s.name, "value": s.value, "source": s.source, "help": s.help}
        for s in effective_settings(settings, sources)
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("setting", "value", "source", "help", show_lines=False)
    for r in rows:
        table.add_row(r["name"], r["value"], r["source"], r["help"])
    out.print(table)


audience.register(app)
campaigns.register(app)
campaign_content.register(app)
templates.register(app)
worker.register(app)
sandbox.register(app)
demo.register(app)
delivery.register(app)
verify.register(app)
feedback.register(app)
domains.register(app)
preflight.register(app)
report.register(app)
serve.register(app)
users.register(app)


def main() -> None:
    """Every command (``sendwell.cli.entry`` starts ``worker`` without the others)."""
    context.run(app)
