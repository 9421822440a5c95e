"""``sendwell report ID`` and ``sendwell report reputation``: campaign reports and the
sender's reputation across campaigns.

``report ID`` prints Rich tables (delivery, engagement, links, sites); ``--json`` prints
the ``reports.export`` JSON instead, ``--csv FILE`` writes the long-format CSV and
``--charts DIR`` writes the SVG charts. ``report reputation`` compares each recent
campaign's hard-bounce and complaint rates with the 0.1 % target and 0.3 % ceiling.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import typer
from rich.table import Table

from sendwell.cli import context
from sendwell.cli.context import out
from sendwell.errors import InvalidInput
from sendwell.reports.campaign import CampaignReport
from sendwell.reports.export import reputation_json
from sendwell.reports.full import full_report
from sendwell.reports.reputation import CEILING, TARGET, reputation, total
from sendwell.reports.sites import SiteStats


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.2%}" if whole else "-"


def _tables(r: CampaignReport, sites: list[SiteStats]) -> None:
    head = Table("metric", "count", "rate", title=f"campaign {r.campaign_id}: {r.name} ({r.state})")
    for label, n, base in (
        ("recipients", r.recipients, 0),
        ("sent", r.sent, r.recipients),
        ("delivered", r.delivered, r.sent),
        ("deferred (at least once)", r.deferred, r.sent),
        ("bounced", r.bounced, r.sent),
        ("  hard", r.bounced_hard, r.sent),
        ("  soft", r.bounced_soft, r.sent),
        ("  block", r.bounced_block, r.sent),
        ("complained", r.complained, r.delivered),
        ("unsubscribed", r.unsubscribed, r.delivered),
    ):
        head.add_row(label, str(n), _pct(n, base) if base else "")
    out.print(head)
    if not r.tracking:
        out.print("tracking off for this campaign (privacy mode): no opens or clicks recorded")
    eng = Table("", "unique", "total", "machine unique", "machine total", title="engagement")
    for label, e in (("opened", r.opens), ("clicked", r.clicks)):
        eng.add_row(label, str(e.unique), str(e.total), str(e.machine_unique), str(e.machine_total))
    out.print(eng)
    if r.links:
        links = Table("#", "url", "unique", "total", "machine", title="links")
        for link in r.links:
            links.add_row(
                str(link.number), link.url, str(link.unique), str(link.total),
                str(link.machine_total),
            )  # fmt: skip
        out.print(links)
    if sites:
        st = Table("site", "attempted", "delivered", "deferred", "bounced", "complaints",
                   "median latency", title="per site")  # fmt: skip
        for s in sites:
            latency = f"{s.median_latency_s:.1f}s" if s.median_latency_s is not None else "-"
            st.add_row(
                s.site, str(s.attempted), _pct(s.delivered, s.attempted),
                _pct(s.deferred, s.attempted), _pct(s.bounced, s.attempted),
                _pct(s.complained, s.delivered), latency,
            )  # fmt: skip
        out.print(st)


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        target: str = typer.Argument(
            ..., help="A campaign id, or `reputation` for rates across recent campaigns."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
        csv_file: Path | None = typer.Option(
            None, "--csv", help="Write the report as CSV (section,key,metric,value) to FILE."
        ),
        charts: Path | None = typer.Option(
            None, "--charts", help="Write SVG charts (delivery, funnel, sites, links) to DIR."
        ),
        step: str = typer.Option("hour", "--step", help="Time-series bucket: hour or day."),
        limit: int = typer.Option(
            50, "--limit", help="With `reputation`: how many recent campaigns to show."
        ),
    ) -> None:
        """Report on a campaign (delivery, engagement, links, sites) or on reputation."""
        if step not in ("hour", "day"):
            raise InvalidInput("--step must be 'hour' or 'day'")
        if target == "reputation":
            _reputation(as_json, limit)
            return
        if not target.isdigit():
            raise InvalidInput(f"expected a campaign id or 'reputation', not {target!r}")
        bucket: Literal["hour", "day"] = "day" if step == "day" else "hour"
        with context.opened() as a, a.engine.connect() as conn:
            full = full_report(conn, int(target), bucket)
        if csv_file is not None:
            csv_file.write_text(full.as_csv(), encoding="utf-8", newline="")
        if charts is not None:
            charts.mkdir(parents=True, exist_ok=True)
            for name, svg in full.charts().items():
                (charts / f"{name}.svg").write_text(svg, encoding="utf-8")
        if as_json:
            print(json.dumps(full.as_json()))
        elif csv_file is None and charts is None:
            _tables(full.report, full.sites)
        else:
            written = [str(p) for p in (csv_file, charts) if p is not None]
            out.print(f"wrote {', '.join(written)}")


def _reputation(as_json: bool, limit: int) -> None:
    with context.opened() as a, a.engine.connect() as conn:
        rows = reputation(conn, limit=limit)
    if as_json:
        print(json.dumps(reputation_json(rows)))
        return
    table = Table("campaign", "attempted", "delivered", "bounce rate", "", "complaint rate", "",
                  title=f"reputation (target {TARGET:.1%}, ceiling {CEILING:.1%})")  # fmt: skip
    for r in [*rows, total(rows)]:
        table.add_row(
            f"{r.campaign_id} {r.name}" if r.campaign_id else r.name, str(r.attempted),
            str(r.delivered), f"{r.bounce_rate:.3%}", r.bounce_verdict,
            f"{r.complaint_rate:.3%}", r.complaint_verdict,
        )  # fmt: skip
    out.print(table)
