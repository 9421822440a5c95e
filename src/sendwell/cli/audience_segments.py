"""Commands for segments: create, ls, count, delete, and target a draft campaign.

A filter is JSON in the language of ``audience.segments`` (``--filter '{"attr": ...}'`` or
``--filter @file.json``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from sendwell.audience.segments import (
    all_segments,
    count_matching,
    create_segment,
    delete_segment,
    find_segment,
)
from sendwell.campaigns.service import set_campaign_audience
from sendwell.cli import context
from sendwell.cli.context import out
from sendwell.errors import InvalidInput

segments_app = typer.Typer(help="Saved subscriber filters.", no_args_is_help=True)


def _definition(text: str) -> Any:
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot read {text[1:]}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"the filter is not valid JSON: {exc}") from None


@segments_app.command("create")
def segments_create(
    name: str,
    filter_: str = typer.Option(..., "--filter", help="JSON filter, or @FILE holding one."),
) -> None:
    """Save a segment (the filter is checked now)."""
    with context.opened() as a, a.engine.begin() as conn:
        sid = create_segment(conn, name, _definition(filter_), now=a.clock.now())
        n = count_matching(conn, find_segment(conn, str(sid))[2], now=a.clock.now())
    out.print(f"segment {sid} {name!r} saved; {n} subscribers match now", markup=False)


@segments_app.command("ls")
def segments_ls() -> None:
    """Show saved segments with their live counts."""
    table = Table("id", "name", "matching", "filter")
    with context.opened() as a, a.engine.connect() as conn:
        for sid, name, definition in all_segments(conn):
            n = count_matching(conn, definition, now=a.clock.now())
            table.add_row(str(sid), name, str(n), json.dumps(definition))
    out.print(table)


@segments_app.command("count")
def segments_count(
    segment: str = typer.Argument("", help="Saved segment name or id."),
    filter_: str = typer.Option("", "--filter", help="Count an unsaved JSON filter instead."),
) -> None:
    """Count the active subscribers a segment (or filter) matches, now."""
    with context.opened() as a, a.engine.connect() as conn:
        if filter_:
            definition = _definition(filter_)
        elif segment:
            definition = find_segment(conn, segment)[2]
        else:
            raise InvalidInput("name a segment or pass --filter")
        started = time.perf_counter()
        n = count_matching(conn, definition, now=a.clock.now())
    out.print(f"{n} subscribers match ({time.perf_counter() - started:.3f} s)")


@segments_app.command("delete")
def segments_delete(segment: str = typer.Argument(..., help="Segment name or id.")) -> None:
    """Delete a saved segment (refused while a campaign uses it)."""
    with context.opened() as a, a.engine.begin() as conn:
        sid, name, _ = find_segment(conn, segment)
        delete_segment(conn, sid)
    out.print(f"segment {sid} {name!r} deleted", markup=False)


@segments_app.command("target")
def segments_target(
    campaign_id: int = typer.Argument(..., help="A draft campaign."),
    segment: str = typer.Option("", "--segment", help="Only subscribers in this segment."),
    exclude: list[str] = typer.Option([], "--exclude", help="Leave out a segment (repeatable)."),
    reengage: bool = typer.Option(
        False, "--reengage", help="Target people the sunset rule would skip (re-engagement)."
    ),
) -> None:
    """Set a draft campaign's audience: segment, exclusions, re-engagement."""
    with context.opened() as a, a.engine.begin() as conn:
        seg_id = find_segment(conn, segment)[0] if segment else None
        excluded = [find_segment(conn, e)[0] for e in exclude]
        set_campaign_audience(
            conn, campaign_id, segment_id=seg_id, exclude_segment_ids=excluded, reengage=reengage
        )
    out.print(f"campaign {campaign_id} audience set", markup=False)
