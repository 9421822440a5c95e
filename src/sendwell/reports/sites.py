"""Deliverability per destination site: delivery, deferral, bounce and complaint rates and
the median delivery latency.

A *site* here is the provider behind the MX host that took (or refused) the message: the
last two labels of ``outbox.mx_host`` (``gmail-smtp-in.l.google.com`` → ``google.com``),
or the recipient domain for rows never attempted. Latency is ``done_at -
first_attempt_at`` of delivered rows: how long the provider made us wait, deferrals
included.

Limits: "last two labels" misgroups hosts under two-label public suffixes (``co.uk``);
rows are read into memory to compute medians portably (SQLite has no percentile).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, select

from sendwell.campaigns.records import OUTBOX_STATUSES
from sendwell.store.schema import events, outbox

FEEDBACK_KINDS = ("deferred", "complaint", "bounce_hard", "bounce_soft", "bounce_block")


def site_of(mx_host: str | None, domain: str) -> str:
    """The provider key of an MX host (pure)."""
    host = (mx_host or "").strip(".").lower()
    if not host:
        return domain.lower()
    labels = host.split(".")
    return ".".join(labels[-2:])


def progress_by_site(conn: Connection, campaign_id: int) -> dict[str, dict[str, int]]:
    """A campaign's outbox counts per destination site and status, for live progress.

    A row that met an MX host counts under that host's site. A row not attempted yet
    counts under the site most of its domain's attempted rows met — so a Google
    Workspace domain's queued rows join ``google.com`` once the first is attempted — or
    under its own domain while none has been.
    """
    groups = conn.execute(
        select(outbox.c.domain, outbox.c.status, outbox.c.mx_host, func.count())
        .where(outbox.c.campaign_id == campaign_id)
        .group_by(outbox.c.domain, outbox.c.status, outbox.c.mx_host)
    ).all()
    seen: dict[str, Counter[str]] = {}
    for domain, _, mx_host, n in groups:
        if mx_host:
            seen.setdefault(domain, Counter())[site_of(mx_host, domain)] += int(n)
    result: dict[str, dict[str, int]] = {}
    for domain, status, mx_host, n in groups:
        if mx_host:
            site = site_of(mx_host, domain)
        elif domain in seen:
            site = min(seen[domain].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        else:
            site = domain.lower()
        result.setdefault(site, dict.fromkeys(OUTBOX_STATUSES, 0))[status] += int(n)
    return result


@dataclass(frozen=True)
class SiteRow:
    """One outbox row's facts, as the per-site arithmetic needs them."""

    site: str
    status: str
    attempted: bool
    first_attempt_at: datetime | None
    done_at: datetime | None
    deferred: bool
    bounced: bool
    complained: bool


@dataclass(frozen=True)
class SiteStats:
    site: str
    attempted: int
    delivered: int
    deferred: int
    bounced: int
    complained: int
    median_latency_s: float | None

    @property
    def delivery_rate(self) -> float:
        return self.delivered / self.attempted if self.attempted else 0.0

    @property
    def deferral_rate(self) -> float:
        return self.deferred / self.attempted if self.attempted else 0.0

    @property
    def bounce_rate(self) -> float:
        return self.bounced / self.attempted if self.attempted else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complained / self.delivered if self.delivered else 0.0


def summarize(rows: Iterable[SiteRow]) -> list[SiteStats]:
    """Per-site stats, biggest site first (pure)."""
    groups: dict[str, list[SiteRow]] = {}
    for r in rows:
        groups.setdefault(r.site, []).append(r)
    out = []
    for site, rs in groups.items():
        latencies = [
            (r.done_at - r.first_attempt_at).total_seconds()
            for r in rs
            if r.status == "delivered" and r.done_at and r.first_attempt_at
        ]
        out.append(
            SiteStats(
                site=site,
                attempted=sum(r.attempted for r in rs),
                delivered=sum(r.status == "delivered" for r in rs),
                deferred=sum(r.deferred for r in rs),
                bounced=sum(r.bounced or r.status == "bounced" for r in rs),
                complained=sum(r.complained for r in rs),
                median_latency_s=statistics.median(latencies) if latencies else None,
            )
        )
    return sorted(out, key=lambda s: (-s.attempted, s.site))


def site_rows(conn: Connection, campaign_ids: list[int]) -> list[SiteRow]:
    """The rows of the given campaigns with their feedback flags."""
    flags: dict[int, set[str]] = {}
    for chunk in range(0, len(campaign_ids), 500):
        ids = campaign_ids[chunk : chunk + 500]
        for e in conn.execute(
            select(events.c.outbox_id, events.c.kind).where(
                and_(events.c.campaign_id.in_(ids), events.c.kind.in_(FEEDBACK_KINDS))
            )
        ):
            if e.outbox_id is not None:
                flags.setdefault(e.outbox_id, set()).add(e.kind)
    rows = []
    for chunk in range(0, len(campaign_ids), 500):
        ids = campaign_ids[chunk : chunk + 500]
        for r in conn.execute(
            select(
                outbox.c.id,
                outbox.c.mx_host,
                outbox.c.domain,
                outbox.c.status,
                outbox.c.attempts,
                outbox.c.first_attempt_at,
                outbox.c.done_at,
            ).where(outbox.c.campaign_id.in_(ids))
        ):
            f = flags.get(r.id, set())
            rows.append(
                SiteRow(
                    site=site_of(r.mx_host, r.domain),
                    status=r.status,
                    attempted=r.attempts > 0,
                    first_attempt_at=r.first_attempt_at,
                    done_at=r.done_at,
                    deferred="deferred" in f,
                    bounced=bool(f & {"bounce_hard", "bounce_soft", "bounce_block"}),
                    complained="complaint" in f,
                )
            )
    return rows


def site_report(conn: Connection, campaign_ids: list[int]) -> list[SiteStats]:
    return summarize(site_rows(conn, campaign_ids))
