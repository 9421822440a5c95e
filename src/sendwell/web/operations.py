"""Campaign operations shared by the API and the admin UI.

Both go through the composition root, exactly as ``sendwell campaigns check`` and
``campaigns start`` do: :meth:`App.preflight` builds the report (spamd, DNS of the From
domain, the delivery estimate) and :meth:`App.start_campaign` is the one start gate.
FastAPI runs these plain ``def`` routes in worker threads, where DNS may run its own
event loop.
"""

from __future__ import annotations

from sendwell.app import App
from sendwell.campaigns.preflight import PreflightReport
from sendwell.campaigns.records import CampaignStatus


def preflight(a: App, campaign_id: int, *, dns: bool, links: bool = False) -> PreflightReport:
    """The preflight report, exactly as ``sendwell campaigns check`` computes it."""
    return a.preflight(campaign_id, dns=dns, links=links)


def start(a: App, campaign_id: int) -> CampaignStatus:
    """Start a draft if preflight finds no blocker, as ``sendwell campaigns start`` does."""
    return a.start_campaign(campaign_id)
