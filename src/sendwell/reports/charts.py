"""SVG charts of a campaign (pygal), as strings the web UI embeds and the CLI writes.

Charts: delivery over time (stacked bars per bucket), the engagement funnel (delivered →
opened → clicked, human only, machine activity shown beside it), deliverability per site
(rates in percent), clicks per link (human and machine).

Limits: static SVG without pygal's tooltip JavaScript (``js=[]``, its inline config
script removed) so the SVG is self-contained and safe to inline under a strict
Content-Security-Policy. Labels are escaped by pygal (it builds the SVG with an XML
library).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

import pygal  # type: ignore[import-untyped]
from pygal.style import Style  # type: ignore[import-untyped]

from sendwell.reports.campaign import CampaignReport
from sendwell.reports.series import Bucket
from sendwell.reports.sites import SiteStats

# pygal appends a legacy import hook (for its ``pygal.maps.*`` plugins, unused here) to
# sys.meta_path; it lacks ``find_spec``, so every later import in the process warns
# (an error under ``-W error``). Drop it once pygal is loaded.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

STYLE = Style(
    background="white",
    plot_background="white",
    font_family="system-ui, sans-serif",
    colors=("#2f7ebc", "#e0a030", "#c0392b", "#7f8c8d", "#27ae60", "#8e44ad"),
)


def _config(chart: pygal.Graph, title: str) -> pygal.Graph:
    chart.title = title
    chart.js = []
    chart.disable_xml_declaration = True
    return chart


# pygal inlines its config as a <script> even without tooltip JS; the chart does not need
# it. Text inside it is XML-escaped, so the first literal "</script>" is its real end.
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)


def _render(chart: pygal.Graph) -> str:
    return _SCRIPT.sub("", str(chart.render(is_unicode=True)))


def delivery_over_time(buckets: Sequence[Bucket], step: str = "hour") -> str:
    chart = _config(
        pygal.StackedBar(style=STYLE, x_label_rotation=30, show_minor_x_labels=False),
        f"Delivery per {step}",
    )
    fmt = "%m-%d %H:00" if step == "hour" else "%Y-%m-%d"
    chart.x_labels = [b.start.strftime(fmt) for b in buckets]
    chart.x_labels_major_every = max(1, len(buckets) // 12)
    for kind in ("delivered", "deferred", "bounced"):
        chart.add(kind, [b.counts.get(kind, 0) for b in buckets])
    return _render(chart)


def engagement_funnel(report: CampaignReport) -> str:
    chart = _config(pygal.HorizontalBar(style=STYLE), "Engagement (unique recipients)")
    chart.x_labels = ["delivered", "opened", "clicked", "unsubscribed"]
    chart.add(
        "people",
        [report.delivered, report.opens.unique, report.clicks.unique, report.unsubscribed],
    )
    chart.add("machines", [0, report.opens.machine_unique, report.clicks.machine_unique, 0])
    return _render(chart)


def sites_chart(sites: Sequence[SiteStats]) -> str:
    chart = _config(pygal.Bar(style=STYLE, x_label_rotation=20), "Deliverability per site (%)")
    top = list(sites[:12])
    chart.x_labels = [s.site for s in top]
    chart.add("delivered", [round(100 * s.delivery_rate, 2) for s in top])
    chart.add("deferred", [round(100 * s.deferral_rate, 2) for s in top])
    chart.add("bounced", [round(100 * s.bounce_rate, 2) for s in top])
    chart.add("complaints", [round(100 * s.complaint_rate, 3) for s in top])
    return _render(chart)


def link_clicks(report: CampaignReport) -> str:
    chart = _config(pygal.HorizontalBar(style=STYLE), "Clicks per link")
    links = list(report.links[:20])
    chart.x_labels = [_short(link.url) for link in links]
    chart.add("people (unique)", [link.unique for link in links])
    chart.add("machines (total)", [link.machine_total for link in links])
    return _render(chart)


def _short(url: str, width: int = 48) -> str:
    url = url.split("://", 1)[-1]
    return url if len(url) <= width else url[: width - 1] + "…"


def all_charts(
    report: CampaignReport, buckets: Sequence[Bucket], sites: Sequence[SiteStats], step: str
) -> dict[str, str]:
    """File name → SVG text, for ``sendwell report ID --charts DIR`` and the web UI."""
    return {
        "delivery.svg": delivery_over_time(buckets, step),
        "funnel.svg": engagement_funnel(report),
        "sites.svg": sites_chart(sites),
        "links.svg": link_clicks(report),
    }
