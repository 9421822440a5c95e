"""Campaign operations that need more than one service call, shared by API and admin UI.

The preflight wiring (builder, spamd scorer, optional DNS check of the From domain)
mirrors ``sendwell campaigns check``; it is repeated here rather than imported because
``web`` and ``cli`` are peers. It belongs in the composition root (``App``) once both
sides can share it.
"""

from __future__ import annotations

from sendwell.app import App
from sendwell.campaigns.builder import CampaignMessageBuilder
from sendwell.campaigns.preflight import PreflightReport, run_preflight
from sendwell.campaigns.records import CampaignStatus
from sendwell.campaigns.service import get_campaign
from sendwell.config import parse_host_port
from sendwell.content.spam import spamd_score
from sendwell.domains.check import Finding
from sendwell.domains.store import find_domain


def _dns_findings(a: App, domain: str) -> list[Finding]:
    with a.engine.connect() as conn:
        d = find_domain(conn, domain)
    if d is None:
        return []  # the missing key is a blocker of its own
    return a.check_sending_domain(d)


def preflight(a: App, campaign_id: int, *, dns: bool) -> PreflightReport:
    """The preflight report, exactly as ``sendwell campaigns check`` computes it.

    Call from a worker thread (FastAPI runs plain ``def`` routes in one): the DNS check
    runs its own event loop.
    """
    s = a.settings
    key = a.secret_key()
    with a.engine.connect() as conn:
        domain = get_campaign(conn, campaign_id).from_email.rpartition("@")[2]
    findings = _dns_findings(a, domain) if dns else []
    spamd = parse_host_port(s.spamd_address, default_port=783, name="spamd_address")
    builder = CampaignMessageBuilder(
        a.engine, clock=a.clock, secret_key=key, bounce_domain=s.bounce_domain,
        public_url=s.public_url, feedback_sender=s.feedback_id_sender,
        sender_defaults=a.sender_defaults(),
    )  # fmt: skip
    with a.engine.connect() as conn:
        return run_preflight(
            conn, builder, campaign_id, now=a.clock.now(), secret_key=key,
            public_url=s.public_url, defaults=a.sender_defaults(), dns=findings,
            spam_scorer=(lambda data: spamd_score(data, *spamd)) if spamd else None,
        )  # fmt: skip


def start(a: App, campaign_id: int) -> CampaignStatus:
    """Start a draft, as ``sendwell campaigns start`` does."""
    with a.engine.begin() as conn:
        return a.start_campaign(conn, campaign_id)
