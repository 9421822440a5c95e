"""Everything one campaign report shows, gathered once: totals, per-site, time series.

``sendwell report ID`` and the web (API and report page) read a campaign through
:func:`full_report` and render the same :class:`FullReport` as tables, JSON
(``reports.export.report_json``), CSV or SVG charts, so the numbers cannot differ
between them.

Limit: the three queries run on demand (see ``reports.campaign`` for their cost).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from sendwell.reports.campaign import CampaignReport, campaign_report
from sendwell.reports.charts import (
    delivery_over_time,
    engagement_funnel,
    link_clicks,
    sites_chart,
)
from sendwell.reports.export import report_json, write_csv
from sendwell.reports.series import Bucket, Step, time_series
from sendwell.reports.sites import SiteStats, site_report

CHART_NAMES = ("delivery", "funnel", "sites", "links")


@dataclass(frozen=True)
class FullReport:
    report: CampaignReport
    sites: list[SiteStats]
    buckets: list[Bucket]
    step: Step

    def as_json(self) -> dict[str, Any]:
        """The ``sendwell report ID --json`` object."""
        return report_json(self.report, self.sites, self.buckets)

    def as_csv(self) -> str:
        """The long-format CSV (``section,key,metric,value``)."""
        buffer = io.StringIO(newline="")
        write_csv(self.as_json(), buffer)
        return buffer.getvalue()

    def charts(self) -> dict[str, str]:
        """Chart name (one of :data:`CHART_NAMES`) → SVG text."""
        return {name: self.chart(name) for name in CHART_NAMES}

    def chart(self, name: str) -> str:
        """One chart's SVG; KeyError for a name not in :data:`CHART_NAMES`."""
        if name == "delivery":
            return delivery_over_time(self.buckets, self.step)
        if name == "funnel":
            return engagement_funnel(self.report)
        if name == "sites":
            return sites_chart(self.sites)
        if name == "links":
            return link_clicks(self.report)
        raise KeyError(name)


def full_report(conn: Connection, campaign_id: int, step: Step = "hour") -> FullReport:
    """The report of one campaign (NotFound when there is no such campaign)."""
    report = campaign_report(conn, campaign_id)
    return FullReport(
        report=report,
        sites=site_report(conn, [report.campaign_id]),
        buckets=time_series(conn, report.campaign_id, step),
        step=step,
    )
