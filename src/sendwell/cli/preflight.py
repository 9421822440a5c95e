"""``sendwell campaigns check`` (the preflight report) and ``campaigns settings``.

Added to the existing ``campaigns`` group; ``cli/main.py`` calls :func:`register`.
"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from sendwell.campaigns.preflight import PreflightReport
from sendwell.campaigns.sender import set_campaign_settings
from sendwell.campaigns.service import get_campaign
from sendwell.cli import context
from sendwell.cli.campaigns import campaigns_app
from sendwell.cli.context import out
from sendwell.delivery.estimate import DeliveryPlan
from sendwell.errors import ConflictError


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "over a year"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours / 24:.1f} days"


def _print_plan(plan: DeliveryPlan) -> None:
    table = Table(
        "site", "provider", "source", "recipients", "rate/h", "conns", "source rate/h",
        "warm-up day", "takes", title="delivery plan (best case: no push-back, no retries)",
    )  # fmt: skip
    for r in plan.rows:
        site = r.site if len(r.domains) <= 1 else f"{r.site} ({', '.join(r.domains[:3])})"
        table.add_row(
            site, r.provider, r.source, f"{r.recipients:g}", f"{r.max_message_rate_per_hour:g}",
            str(r.connection_limit),
            f"{r.source_rate_per_hour:g}" if r.source_rate_per_hour is not None else "-",
            str(r.warmup_day) if r.warmup_day is not None else "-", _duration(r.duration_seconds),
        )  # fmt: skip
    out.print(table)
    finish = plan.finishes_at.isoformat(" ", "minutes") if plan.finishes_at else "-"
    out.print(
        f"all {plan.recipients} recipients in {_duration(plan.duration_seconds)} "
        f"(done {finish} if started now)"
    )
    for note in plan.notes:
        out.print(f"  note: {note}", markup=False)


def _print(report: PreflightReport) -> None:
    table = Table("level", "code", "problem", "fix", title=f"campaign {report.campaign_id}")
    for issue in report.issues:
        table.add_row(issue.level, issue.code, issue.message, issue.fix)
    out.print(table)
    aud = report.audience
    out.print(
        f"audience: {aud.eligible} eligible, {aud.unconfirmed} unconfirmed, "
        f"{aud.suppressed} suppressed, {aud.excluded} excluded, {aud.skipped} skipped "
        f"({aud.frequency_capped} frequency-capped)"
    )
    if report.spam is not None:
        rules = ", ".join(f"{r.name} {r.score:+g}" for r in report.spam.top_rules())
        out.print(
            f"content: {report.message_bytes} bytes, spam score {report.spam.score} of "
            f"{report.spam.threshold} ({report.spam.source}){': ' + rules if rules else ''}",
            markup=False,
        )
    if report.spam_note:
        out.print(f"  note: {report.spam_note}", markup=False)
    if report.links is not None:
        broken = sum(not r.ok for r in report.links)
        out.print(f"links: {len(report.links)} checked, {broken} not answering", markup=False)
    if report.plan is not None:
        _print_plan(report.plan)


@campaigns_app.command("check")
def check(
    campaign_id: int = typer.Argument(..., help="The campaign to check."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    dns: bool = typer.Option(True, "--dns/--no-dns", help="Check the From domain's DNS too."),
    links: bool = typer.Option(
        False, "--links", help="Also fetch every link and image URL of the content."
    ),
) -> None:
    """Preflight: blockers and warnings with their fixes, spam score, delivery estimate.

    Exits non-zero when a blocker remains (`campaigns start` refuses the campaign then).
    """
    with context.opened() as a:
        with a.engine.connect() as conn:
            get_campaign(conn, campaign_id)
        report = a.preflight(campaign_id, dns=dns, links=links)
    if as_json:
        print(json.dumps(report.as_json()))
    else:
        _print(report)
    if report.blockers:
        raise ConflictError(
            f"campaign {campaign_id} cannot start: {len(report.blockers)} blocker(s)"
        )


@campaigns_app.command("settings")
def settings(
    campaign_id: int = typer.Argument(..., help="The campaign to change."),
    organization: str | None = typer.Option(None, help="Sender identity shown in the footer."),
    postal_address: str | None = typer.Option(None, help="Physical postal address."),
    cap_count: int | None = typer.Option(
        None, help="Most campaigns per subscriber in the window (0: no cap)."
    ),
    cap_days: int | None = typer.Option(None, help="Frequency cap window in days."),
) -> None:
    """Override the global sender identity, postal address or frequency cap for a campaign."""
    with context.opened() as a, a.engine.begin() as conn:
        get_campaign(conn, campaign_id)
        set_campaign_settings(
            conn, campaign_id, organization=organization, postal_address=postal_address,
            frequency_cap_count=cap_count, frequency_cap_days=cap_days,
        )  # fmt: skip
    out.print(f"campaign {campaign_id} settings saved")


def register(app: typer.Typer) -> None:
    """The commands are on ``campaigns_app`` already; importing this module adds them."""
