"""Commands for suppressions: add, remove, list, import, export.

Suppressions are stored by address hash, so ``list`` and ``export`` show hashes, not
addresses; ``import`` takes addresses or hashes (one per line, or the first CSV column).
Exports go through ``audience.csvsafe`` so no cell runs as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import typer
from rich.table import Table

from sendwell.audience.csvsafe import SafeWriter
from sendwell.audience.lists import find_list
from sendwell.audience.suppressions import (
    REASONS,
    check_reason,
    list_suppressions,
    parse_expiry,
    suppress,
    suppress_hash,
    unsuppress,
)
from sendwell.cli import context
from sendwell.cli.context import out
from sendwell.errors import InvalidInput

suppressions_app = typer.Typer(help="Addresses that are never mailed.", no_args_is_help=True)
_HASH = re.compile(r"[0-9a-f]{64}")


@suppressions_app.command("add")
def suppressions_add(
    email: str,
    reason: str = typer.Option("manual", help=f"One of: {', '.join(REASONS)}."),
    list_name: str = typer.Option("", "--list", help="Only from this list (default: all)."),
    expires: str = typer.Option("", help="ISO date when the suppression lapses (default: never)."),
    detail: str = typer.Option("", help="Free text kept with the suppression."),
) -> None:
    """Suppress an address from every list (or from one)."""
    with context.opened() as a, a.engine.begin() as conn:
        list_id = find_list(conn, list_name).id if list_name else None
        added = suppress(
            conn,
            email,
            reason=check_reason(reason),
            now=a.clock.now(),
            list_id=list_id,
            detail=detail,
            expires_at=parse_expiry(expires, "--expires"),
        )
    out.print(f"{email} {'suppressed' if added else 'was already suppressed'}", markup=False)


@suppressions_app.command("remove")
def suppressions_remove(
    email: str,
    list_name: str = typer.Option("", "--list", help="The list scope (default: global)."),
) -> None:
    """Lift a suppression (never an erasure's)."""
    with context.opened() as a, a.engine.begin() as conn:
        list_id = find_list(conn, list_name).id if list_name else None
        n = unsuppress(conn, email, list_id=list_id)
    out.print(f"{email}: {'suppression lifted' if n else 'no liftable suppression'}", markup=False)


@suppressions_app.command("list")
def suppressions_list(
    list_name: str = typer.Option("", "--list", help="Only this list's suppressions."),
    include_expired: bool = typer.Option(False, help="Show lapsed suppressions too."),
    limit: int = typer.Option(100, help="Most rows to show."),
) -> None:
    """Show suppressions (address hashes, scope, reason, expiry)."""
    table = Table("hash", "list", "reason", "since", "expires", "detail")
    with context.opened() as a, a.engine.connect() as conn:
        list_id = find_list(conn, list_name).id if list_name else None
        for i, s in enumerate(
            list_suppressions(
                conn, list_id=list_id, include_expired=include_expired, now=a.clock.now()
            )
        ):
            if i >= limit:
                break
            table.add_row(
                s.email_hash[:16] + "…",
                str(s.list_id or "all"),
                s.reason,
                s.created_at.isoformat(timespec="seconds"),
                s.expires_at.isoformat(timespec="seconds") if s.expires_at else "",
                s.detail,
            )
    out.print(table)


@suppressions_app.command("export")
def suppressions_export(
    output: Path = typer.Argument(..., dir_okay=False, help="CSV file to write."),
    include_expired: bool = typer.Option(False, help="Include lapsed suppressions."),
) -> None:
    """Export every suppression as CSV (hashes only; formula-safe)."""
    n = 0
    with (
        context.opened() as a,
        a.engine.connect() as conn,
        output.open("w", newline="", encoding="utf-8") as fh,
    ):
        writer = SafeWriter(fh)
        writer.writerow(["email_hash", "list_id", "reason", "detail", "created_at", "expires_at"])
        for s in list_suppressions(conn, include_expired=include_expired, now=a.clock.now()):
            writer.writerow(
                [
                    s.email_hash,
                    s.list_id or "",
                    s.reason,
                    s.detail,
                    s.created_at.isoformat(),
                    s.expires_at.isoformat() if s.expires_at else "",
                ]
            )
            n += 1
    out.print(f"{n} suppressions written to {output}", markup=False)


@suppressions_app.command("import")
def suppressions_import(
    path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Addresses or hashes, one per line (or CSV)."
    ),
    reason: str = typer.Option("manual", help=f"One of: {', '.join(REASONS)}."),
    list_name: str = typer.Option("", "--list", help="Only from this list (default: all)."),
) -> None:
    """Suppress every address (or SHA-256 hash) in a file; bad lines are reported."""
    why = check_reason(reason)
    added = already = 0
    problems: list[str] = []
    with (
        context.opened() as a,
        a.engine.begin() as conn,
        path.open(encoding="utf-8-sig", newline="") as fh,
    ):
        list_id = find_list(conn, list_name).id if list_name else None
        now = a.clock.now()
        for line, row in enumerate(csv.reader(fh), start=1):
            value = row[0].strip() if row else ""
            if not value or (line == 1 and value.lower() in ("email", "email_hash")):
                continue
            try:
                if _HASH.fullmatch(value):
                    new = suppress_hash(conn, value, reason=why, now=now, list_id=list_id)
                else:
                    new = suppress(conn, value, reason=why, now=now, list_id=list_id)
            except InvalidInput as exc:
                problems.append(f"line {line}: {exc}")
                continue
            added, already = added + new, already + (not new)
    out.print(f"{added} suppressed, {already} already were, {len(problems)} rejected")
    for p in problems[:50]:
        out.print(f"  {p}", markup=False)
