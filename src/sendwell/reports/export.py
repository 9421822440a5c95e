"""A campaign report as JSON and CSV.

JSON (``report_json``) is the stable machine contract of ``sendwell report ID --json``:
``{"campaign": {...}, "delivery": {...}, "opens": {...}, "clicks": {...}, "links": [...],
"sites": [...], "series": [...]}``; ``reputation_json`` that of ``sendwell report reputation
--json``: ``{"target", "ceiling", "campaigns": [...], "total": {...}}``.

CSV (``write_csv``) is one long table — ``section,key,metric,value`` — so the summary,
per-link, per-site and per-hour numbers fit one file a spreadsheet can pivot.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict
from typing import IO, Any

from sendwell.reports.campaign import CampaignReport
from sendwell.reports.reputation import CEILING, TARGET, CampaignReputation, total
from sendwell.reports.series import Bucket
from sendwell.reports.sites import SiteStats


def _site(s: SiteStats) -> dict[str, Any]:
    return {
        **asdict(s),
        "delivery_rate": round(s.delivery_rate, 6),
        "deferral_rate": round(s.deferral_rate, 6),
        "bounce_rate": round(s.bounce_rate, 6),
        "complaint_rate": round(s.complaint_rate, 6),
    }


def report_json(
    report: CampaignReport, sites: Sequence[SiteStats], buckets: Sequence[Bucket]
) -> dict[str, Any]:
    r = report
    return {
        "campaign": {
            "id": r.campaign_id,
            "name": r.name,
            "subject": r.subject,
            "state": r.state,
            "tracking": r.tracking,
            "started_at": r.started_at.isoformat() if r.started_at else None,
        },
        "delivery": {
            "recipients": r.recipients,
            "sent": r.sent,
            "delivered": r.delivered,
            "deferred": r.deferred,
            "bounced": r.bounced,
            "bounced_hard": r.bounced_hard,
            "bounced_soft": r.bounced_soft,
            "bounced_block": r.bounced_block,
            "complained": r.complained,
            "unsubscribed": r.unsubscribed,
        },
        "opens": asdict(r.opens),
        "clicks": asdict(r.clicks),
        "links": [asdict(link) for link in r.links],
        "sites": [_site(s) for s in sites],
        "series": [{"start": b.start.isoformat(), **b.counts} for b in buckets],
    }


def write_csv(data: dict[str, Any], out: IO[str]) -> None:
    """Write ``report_json`` output as ``section,key,metric,value`` rows."""
    w = csv.writer(out)
    w.writerow(["section", "key", "metric", "value"])
    for section in ("campaign", "delivery", "opens", "clicks"):
        for metric, value in data[section].items():
            w.writerow([section, "", metric, value])
    for link in data["links"]:
        for metric in ("url", "unique", "total", "machine_total"):
            w.writerow(["link", link["number"], metric, link[metric]])
    for site in data["sites"]:
        for metric, value in site.items():
            if metric != "site":
                w.writerow(["site", site["site"], metric, value])
    for bucket in data["series"]:
        for metric, value in bucket.items():
            if metric != "start":
                w.writerow(["series", bucket["start"], metric, value])


def reputation_row(r: CampaignReputation) -> dict[str, Any]:
    """One campaign's (or the total's, ``campaign`` null) reputation figures."""
    return {
        "campaign": r.campaign_id or None,
        "name": r.name,
        "attempted": r.attempted,
        "delivered": r.delivered,
        "hard_bounces": r.hard_bounces,
        "complaints": r.complaints,
        "bounce_rate": round(r.bounce_rate, 6),
        "complaint_rate": round(r.complaint_rate, 6),
        "bounce_verdict": r.bounce_verdict,
        "complaint_verdict": r.complaint_verdict,
    }


def reputation_json(rows: Sequence[CampaignReputation]) -> dict[str, Any]:
    """Recent campaigns' rates against the target and ceiling, and all of them together."""
    return {
        "target": TARGET,
        "ceiling": CEILING,
        "campaigns": [reputation_row(r) for r in rows],
        "total": reputation_row(total(list(rows))),
    }
