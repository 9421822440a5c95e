"""``sendwell delivery ...``: what the engine is doing right now, per destination site."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import typer
from rich.table import Table
from sqlalchemy import func, select

from sendwell.cli import context
from sendwell.cli.context import out
from sendwell.delivery.engine_state import SiteSnapshot, read_snapshots
from sendwell.store.schema import campaigns, outbox

delivery_app = typer.Typer(help="Inspect the delivery engine.", no_args_is_help=True)


@dataclass
class SiteRow:
    """One destination site, summed over the workers and sources sending to it."""

    site: str
    provider: str
    queued: int = 0
    sessions: int = 0
    connection_limit: int = 0
    sent_1m: int = 0
    deferred_1m: int = 0
    rate_limit: float | None = None
    sources: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)

    @property
    def deferral_rate(self) -> float:
        attempts = self.sent_1m + self.deferred_1m
        return self.deferred_1m / attempts if attempts else 0.0

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "deferral_rate": round(self.deferral_rate, 4)}


def merge(snaps: list[SiteSnapshot]) -> list[SiteRow]:
    rows: dict[str, SiteRow] = {}
    for s in snaps:
        row = rows.setdefault(
            s.site, SiteRow(site=s.site, provider=s.provider, rate_limit=s.rate_limit)
        )
        row.queued += s.queued
        row.sessions += s.sessions
        row.connection_limit += s.connection_limit
        row.sent_1m += s.sent_1m
        row.deferred_1m += s.deferred_1m
        row.sources.append(s.source)
        if s.actions:
            row.actions.append(f"{s.source}: {s.actions}")
    return list(rows.values())


@delivery_app.command("sites")
def sites(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Per destination site: ready-queue depth, open connections, rates, active automation."""
    with context.opened() as a:
        snaps = read_snapshots(a.engine, a.clock.now())
        running = select(campaigns.c.id).where(campaigns.c.state == "running").scalar_subquery()
        with a.engine.connect() as conn:
            scheduled = conn.execute(
                select(func.count()).where(
                    outbox.c.status.in_(("queued", "deferred")), outbox.c.campaign_id.in_(running)
                )
            ).scalar_one()
    rows = merge(snaps)
    if as_json:
        print(
            json.dumps(
                {
                    "scheduled": scheduled,
                    "workers": len({s.worker for s in snaps}),
                    "sites": [r.as_json() for r in rows],
                }
            )
        )
        return
    table = Table(
        "site",
        "provider",
        "ready",
        "sessions",
        "sent/min",
        "deferral rate",
        "rate limit",
        "automation",
        title=f"{scheduled} messages in the scheduled queue",
    )
    for r in rows:
        table.add_row(
            r.site,
            r.provider,
            str(r.queued),
            f"{r.sessions}/{r.connection_limit}",
            str(r.sent_1m),
            f"{r.deferral_rate:.1%}",
            "-" if r.rate_limit is None else f"{r.rate_limit * 3600:.0f}/h",
            "; ".join(r.actions) or "-",
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(delivery_app, name="delivery")
