"""``sendwell campaigns check`` (the preflight report) and ``campaigns settings``.

Added to the existing ``campaigns`` group; ``cli/main.py`` calls :func:`register`.
"""

from __future__ import annotations

import asyncio
import json

import typer
from rich.table import Table

from sendwell.app import App
from sendwell.campaigns.builder import CampaignMessageBuilder
from sendwell.campaigns.preflight import PreflightReport, run_preflight
from sendwell.campaigns.sender import SenderDefaults, set_campaign_settings
from sendwell.campaigns.service import get_campaign
from sendwell.cli import context
from sendwell.cli.campaigns import campaigns_app
from sendwell.cli.context import out
from sendwell.compose.dkim import public_key_b64
from sendwell.config import parse_host_port
from sendwell.content.spam import spamd_score
from sendwell.domains.check import DnsLookup, Finding, check_domain
from sendwell.domains.store import find_domain
from sendwell.errors import ConflictError


def _defaults(a: App) -> SenderDefaults:
    s = a.settings
    return SenderDefaults(
        organization=s.sender_organization,
        postal_address=s.sender_postal_address,
        frequency_cap_count=s.frequency_cap_count,
        frequency_cap_days=s.frequency_cap_days,
    )


def _dns_findings(a: App, domain: str) -> list[Finding]:
    with a.engine.connect() as conn:
        d = find_domain(conn, domain)
    if d is None:
        return []  # the missing key is already a blocker of its own
    key = a.secret_key()
    selectors = [(d.selector, public_key_b64(d.private_pem(key)))]
    ed_pem = d.ed25519_pem(key)
    if d.ed25519_selector and ed_pem:
        selectors.append((d.ed25519_selector, public_key_b64(ed_pem)))
    return asyncio.run(
        check_domain(
            DnsLookup(a.settings.dns_nameserver()),
            domain=d.domain,
            selectors=selectors,
            spf_sources=a.settings.spf_sources,
            bounce_domain=a.settings.bounce_domain,
        )
    )


def _print(report: PreflightReport) -> None:
    table = Table("level", "code", "problem", "fix", title=f"campaign {report.campaign_id}")
    for issue in report.issues:
        table.add_row(issue.level, issue.code, issue.message, issue.fix)
    out.print(table)
    aud = report.audience
    out.print(
        f"audience: {aud.eligible} eligible, {aud.unconfirmed} unconfirmed, "
        f"{aud.suppressed} suppressed, {aud.frequency_capped} frequency-capped"
    )
    if report.spam_score is not None:
        out.print(
            f"content: {report.message_bytes} bytes, spam score {report.spam_score} "
            f"({report.spam_source})"
        )


@campaigns_app.command("check")
def check(
    campaign_id: int = typer.Argument(..., help="The campaign to check."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    dns: bool = typer.Option(True, "--dns/--no-dns", help="Check the From domain's DNS too."),
) -> None:
    """Preflight: compliance blockers and content/audience warnings, each with its fix."""
    with context.opened() as a:
        s = a.settings
        key = a.secret_key()
        with a.engine.connect() as conn:
            domain = get_campaign(conn, campaign_id).from_email.rpartition("@")[2]
        findings = _dns_findings(a, domain) if dns else []
        spamd = parse_host_port(s.spamd_address, default_port=783, name="spamd_address")
        builder = CampaignMessageBuilder(
            a.engine, clock=a.clock, secret_key=key, bounce_domain=s.bounce_domain,
            public_url=s.public_url, feedback_sender=s.feedback_id_sender,
            sender_defaults=_defaults(a),
        )  # fmt: skip
        with a.engine.connect() as conn:
            report = run_preflight(
                conn, builder, campaign_id, now=a.clock.now(), secret_key=key,
                public_url=s.public_url, defaults=_defaults(a), dns=findings,
                spam_scorer=(lambda data: spamd_score(data, *spamd)) if spamd else None,
            )  # fmt: skip
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
