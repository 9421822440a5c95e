"""Commands for lists and subscribers (suppressions and segments have their own modules).

Limit: ``subscribers show`` and ``export`` read everything about one person into memory,
which is fine for one person's history.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from sendwell.audience.addresses import normalize
from sendwell.audience.consent import Evidence, check_basis, record
from sendwell.audience.import_source import detect_format
from sendwell.audience.importer import ImportOptions, import_file
from sendwell.audience.lists import all_lists, create_list, find_list
from sendwell.audience.optin import set_list_message
from sendwell.audience.privacy import erase_person, export_person
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers, get_subscriber
from sendwell.cli import context
from sendwell.cli.audience_segments import segments_app
from sendwell.cli.audience_suppressions import suppressions_app
from sendwell.cli.context import out
from sendwell.errors import InvalidInput

lists_app = typer.Typer(help="Mailing lists.", no_args_is_help=True)
subscribers_app = typer.Typer(help="Subscribers.", no_args_is_help=True)


@lists_app.command("create")
def lists_create(
    name: str,
    description: str = typer.Option("", help="What subscribers signed up for."),
    double_optin: bool = typer.Option(False, "--double-optin", help="Require confirmation."),
) -> None:
    """Create a mailing list."""
    with context.opened() as a, a.engine.begin() as conn:
        ml = create_list(
            conn,
            name,
            now=a.clock.now(),
            description=description,
            optin="double" if double_optin else "single",
        )
    out.print(f"list {ml.id} {ml.name!r} created ({ml.optin} opt-in)")


@lists_app.command("ls")
def lists_ls() -> None:
    """Show every list with its number of confirmed subscribers."""
    with context.opened() as a, a.engine.connect() as conn:
        rows = all_lists(conn)
    table = Table("id", "name", "opt-in", "confirmed", "description")
    for ml, confirmed in rows:
        table.add_row(str(ml.id), ml.name, ml.optin, str(confirmed), ml.description)
    out.print(table)


@lists_app.command("message")
def lists_message(
    list_name: str = typer.Argument(..., help="List name or id."),
    kind: str = typer.Option(..., help="confirmation (double opt-in) or welcome."),
    subject: str = typer.Option(..., help="Subject line (a template)."),
    from_email: str = typer.Option(..., "--from", help="From address."),
    from_name: str = typer.Option("", help="From display name."),
    html: Path = typer.Option(
        ...,
        exists=True,
        dir_okay=False,
        help="HTML template; a confirmation must contain {{ confirm_url }}.",
    ),
) -> None:
    """Set a list's double opt-in confirmation or welcome message."""
    if kind not in ("confirmation", "welcome"):
        raise InvalidInput("--kind must be confirmation or welcome")
    with context.opened() as a, a.engine.begin() as conn:
        ml = find_list(conn, list_name)
        cid = set_list_message(
            conn,
            ml,
            kind,  # type: ignore[arg-type]
            subject=subject,
            html_template=html.read_text(encoding="utf-8"),
            from_email=from_email,
            from_name=from_name,
            now=a.clock.now(),
        )
    out.print(f"{kind} message of list {ml.name!r} set (transactional campaign {cid})")


def _attributes(pairs: list[str]) -> dict[str, str]:
    attrs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"attribute {pair!r} is not of the form key=value")
        attrs[key.strip()] = value
    return attrs


@subscribers_app.command("add")
def subscribers_add(
    email: str,
    list_name: str = typer.Option(..., "--list", help="List name or id."),
    first_name: str = typer.Option("", help="First name, used by {{ subscriber.first_name }}."),
    last_name: str = typer.Option("", help="Last name."),
    attr: list[str] = typer.Option([], help="Custom attribute key=value (repeatable)."),
    basis: str = typer.Option("consent", help="Lawful basis: consent or soft_opt_in."),
    wording: str = typer.Option("", help="The consent wording the person agreed to."),
    wording_version: str = typer.Option("", help="Version label of that wording."),
) -> None:
    """Add one subscriber to a list (or update them if they exist); logs the consent."""
    with context.opened() as a, a.engine.begin() as conn:
        ml = find_list(conn, list_name)
        person = NewSubscriber(email, first_name or None, last_name or None, _attributes(attr))
        now = a.clock.now()
        result = add_subscribers(conn, [person], mailing_list=ml, now=now)
        subscriber = get_subscriber(conn, email)
        record(
            conn,
            at=now,
            email_hash=normalize(email).hash,
            action="subscribe",
            evidence=Evidence(
                source="cli",
                method="manual",
                lawful_basis=check_basis(basis),
                wording=wording or None,
                wording_version=wording_version or None,
            ),
            subscriber_id=subscriber.id,
            list_id=ml.id,
        )
    out.print(f"{'added' if result.added else 'updated'} {email} on list {ml.name!r}")


@subscribers_app.command("import")
def subscribers_import(
    path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV with a header row, or JSON Lines (.jsonl)."
    ),
    list_name: str = typer.Option(..., "--list", help="List name or id."),
    basis: str = typer.Option(
        "",
        help="Lawful basis of the whole file: consent or soft_opt_in. Required: an import "
        "without a declared basis is refused.",
    ),
    implied_by: str = typer.Option(
        "",
        help="For soft_opt_in: purchase (CASL: valid 2 years) or inquiry (6 months), counted "
        "from the row's consent_at column or now.",
    ),
    wording: str = typer.Option("", help="The exact consent wording these people agreed to."),
    wording_version: str = typer.Option("", help="Version label of that wording."),
    mode: str = typer.Option(
        "upsert", help="upsert (update existing subscribers) or skip_existing (leave them)."
    ),
    fmt: str = typer.Option("", "--format", help="csv or jsonl (default: from the extension)."),
    encoding: str = typer.Option("utf-8", help="Text encoding of the file (e.g. cp1252)."),
    mapping: list[str] = typer.Option(
        [],
        "--map",
        help="Column mapping COLUMN=FIELD, FIELD one of email, first_name, last_name, "
        "consent_source, consent_ip, consent_at, attr:NAME, ignore (repeatable).",
    ),
    errors_path: Path | None = typer.Option(
        None, "--errors", help="Where rejected rows go (default: FILE.errors.csv next to it)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import subscribers from a CSV or JSON Lines file of any size (streamed).

    Addresses are normalized and syntax-checked, duplicates and suppressed addresses are
    skipped, and every row not imported is written to the error file with its line number
    and reason. Each row gets an "import" entry in the consent log.
    """
    maps: dict[str, str] = {}
    for pair in mapping:
        column, sep, target = pair.rpartition("=")
        if not sep or not column:
            raise InvalidInput(f"--map {pair!r} is not of the form COLUMN=FIELD")
        maps[column.strip()] = target.strip()
    errors_file = errors_path or path.with_name(path.name + ".errors.csv")
    with context.opened() as a:
        with a.engine.connect() as conn:
            ml = find_list(conn, list_name)
        options = ImportOptions(
            mailing_list=ml,
            lawful_basis=basis or None,
            mode=mode,  # type: ignore[arg-type]
            fmt=detect_format(path, fmt or None),
            encoding=encoding,
            mapping=maps,
            wording=wording or None,
            wording_version=wording_version or None,
            implied_by=implied_by or None,  # type: ignore[arg-type]
            batch_size=a.settings.import_batch_size,
        )
        progress = Progress(
            TextColumn("importing"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=context.err,
            transient=True,
        )
        with progress:
            task = progress.add_task("import", total=path.stat().st_size)
            report = import_file(
                a.engine,
                path,
                options,
                now=a.clock.now(),
                error_path=errors_file,
                on_bytes=lambda n: progress.advance(task, n),
            )
    if json_out:
        out.print_json(data=report.as_json())
        return
    out.print(
        f"imported {report.added} new, {report.updated} updated, {report.rejected} rejected, "
        f"{report.skipped} skipped into list {ml.name!r} (import {report.import_id})"
    )
    shown = 0
    with errors_file.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            if row and row[0].isdigit():
                shown += 1
                if shown <= 20:
                    out.print(f"  line {row[0]}: {row[1]}", markup=False)
    if shown:
        out.print(f"every row not imported, with its reason: {errors_file}", markup=False)


@subscribers_app.command("show")
def subscribers_show(
    email: str,
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show one subscriber, their subscriptions and their consent history."""
    with context.opened() as a, a.engine.connect() as conn:
        data = export_person(conn, email)
    if json_out:
        out.print_json(data=data)
        return
    s = data["subscriber"]
    if s is not None:
        out.print(
            f"{s['email']}  id={s['id']} status={s['status']} first_name={s['first_name']!r} "
            f"last_name={s['last_name']!r} attributes={s['attributes']}",
            markup=False,
        )
        for sub in data["subscriptions"]:
            out.print(f"  list {sub['list_id']}: {sub['status']} since {sub['created_at']}")
    else:
        out.print(f"{data['email']}: no subscriber record (erased or never added)", markup=False)
    table = Table("at (UTC)", "action", "list", "source", "method", "basis", "evidence")
    for e in data["consent"]:
        evidence = "; ".join(
            f"{k}={e[k]}"
            for k in (
                "source_ref",
                "ip",
                "user_agent",
                "wording_version",
                "wording",
                "confirmed_at",
                "implied_expires_at",
            )
            if e[k]
        )
        table.add_row(
            e["at"],
            e["action"],
            str(e["list_id"] or ""),
            e["source"],
            e["method"] or "",
            e["lawful_basis"] or "",
            evidence,
        )
    out.print(table)


@subscribers_app.command("export")
def subscribers_export(
    email: str,
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
) -> None:
    """Export everything held about one person as JSON (GDPR access request)."""
    with context.opened() as a, a.engine.connect() as conn:
        data = export_person(conn, email)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if output is None:
        out.print(text, markup=False, highlight=False, soft_wrap=True)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        out.print(f"written to {output}", markup=False)


@subscribers_app.command("erase")
def subscribers_erase(
    email: str,
    yes: bool = typer.Option(False, "--yes", help="Confirm: this cannot be undone."),
    requested_by: str = typer.Option("cli", help="Who asked (kept in the consent log)."),
) -> None:
    """Erase one person: delete their data, keep their address hash suppressed."""
    if not yes:
        raise InvalidInput("erasing cannot be undone; add --yes to go ahead")
    with context.opened() as a, a.engine.begin() as conn:
        result = erase_person(conn, email, now=a.clock.now(), requested_by=requested_by)
    out.print(
        f"erased {email}: subscriber {'deleted' if result.subscriber_deleted else 'not found'}, "
        f"{result.events_deleted} events deleted, {result.deliveries_anonymized} delivery "
        f"records anonymized; suppressed by hash {result.email_hash[:12]}…",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(lists_app, name="lists")
    app.add_typer(subscribers_app, name="subscribers")
    app.add_typer(suppressions_app, name="suppressions")
    app.add_typer(segments_app, name="segments")
