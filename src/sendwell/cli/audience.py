"""Commands for lists, subscribers and suppressions."""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from rich.table import Table

from sendwell.audience.lists import all_lists, create_list, find_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers, get_subscriber
from sendwell.audience.suppressions import REASONS, suppress
from sendwell.cli import context
from sendwell.cli.context import out
from sendwell.errors import InvalidInput

lists_app = typer.Typer(help="Mailing lists.", no_args_is_help=True)
subscribers_app = typer.Typer(help="Subscribers.", no_args_is_help=True)
suppressions_app = typer.Typer(help="Addresses that are never mailed.", no_args_is_help=True)

NAME_FIELDS = {"first_name", "last_name"}


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
) -> None:
    """Add one subscriber to a list (or update them if they exist)."""
    with context.opened() as a, a.engine.begin() as conn:
        ml = find_list(conn, list_name)
        person = NewSubscriber(email, first_name or None, last_name or None, _attributes(attr))
        result = add_subscribers(conn, [person], mailing_list=ml, now=a.clock.now())
    out.print(f"{'added' if result.added else 'updated'} {email} on list {ml.name!r}")


@subscribers_app.command("import")
def subscribers_import(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV with a header row."),
    list_name: str = typer.Option(..., "--list", help="List name or id."),
) -> None:
    """Import a small CSV: columns email, first_name, last_name; others become attributes.

    Invalid addresses are reported with their line number and not imported.
    """
    people: list[NewSubscriber] = []
    problems: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = [f.strip().lower() for f in (reader.fieldnames or [])]
            if "email" not in fields:
                raise InvalidInput(f"{path}: no 'email' column in the header")
            reader.fieldnames = fields
            for row in reader:
                email = (row.get("email") or "").strip()
                attrs = {
                    k: v
                    for k, v in row.items()
                    if k not in NAME_FIELDS | {"email"} and k and v is not None
                }
                people.append(
                    NewSubscriber(
                        email, row.get("first_name") or None, row.get("last_name") or None, attrs
                    )
                )
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text") from None
    from sendwell.audience.addresses import normalize

    valid = []
    for line, person in enumerate(people, start=2):
        try:
            normalize(person.email)
        except InvalidInput as exc:
            problems.append(f"line {line}: {exc}")
        else:
            valid.append(person)
    with context.opened() as a, a.engine.begin() as conn:
        ml = find_list(conn, list_name)
        result = add_subscribers(conn, valid, mailing_list=ml, now=a.clock.now())
    out.print(
        f"imported {result.added} new, {result.updated} updated, "
        f"{len(problems)} rejected into list {ml.name!r}"
    )
    for problem in problems:
        out.print(f"  rejected {problem}", markup=False)


@subscribers_app.command("show")
def subscribers_show(email: str) -> None:
    """Show one subscriber."""
    with context.opened() as a, a.engine.connect() as conn:
        s = get_subscriber(conn, email)
    out.print(
        f"{s.email}  id={s.id} status={s.status} first_name={s.first_name!r} "
        f"last_name={s.last_name!r} attributes={s.attributes}",
        markup=False,
    )


@suppressions_app.command("add")
def suppressions_add(
    email: str,
    reason: str = typer.Option("manual", help=f"One of: {', '.join(REASONS)}."),
) -> None:
    """Suppress an address from every list."""
    if reason not in REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(REASONS)}")
    with context.opened() as a, a.engine.begin() as conn:
        added = suppress(conn, email, reason=reason, now=a.clock.now())
    out.print(f"{email} {'suppressed' if added else 'was already suppressed'}")


def register(app: typer.Typer) -> None:
    app.add_typer(lists_app, name="lists")
    app.add_typer(subscribers_app, name="subscribers")
    app.add_typer(suppressions_app, name="suppressions")
