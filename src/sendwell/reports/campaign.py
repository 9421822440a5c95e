"""One campaign's numbers: delivery outcomes, engagement (human vs machine), link clicks.

Definitions (all per campaign):

* ``recipients``: outbox rows; ``sent``: rows attempted at least once;
* ``delivered``: rows with status ``delivered``; ``deferred``: rows deferred at least once;
* ``bounced``: rows that bounced (status ``bounced`` or a later DSN), split by the
  feedback classification into ``hard``/``soft``/``block`` (a row counts once, under its
  most severe class; bounces never classified count as hard);
* ``complained``: rows with a complaint; ``unsubscribed``: rows with an unsubscribe event;
* opens and clicks: ``unique`` = distinct recipients, ``total`` = every hit, each split
  into human and machine (``*_machine`` event kinds, see ``tracking.classify``).

Limit: counts are computed on demand with grouped queries; for very large campaigns
(millions of events) a report takes seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, and_, case, distinct, func, or_, select

from sendwell.errors import NotFound
from sendwell.store.schema import campaigns, events, outbox
from sendwell.store.schema_tracking import tracking_links

BOUNCE_KINDS = ("bounce_hard", "bounce_block", "bounce_soft")  # most severe first


@dataclass(frozen=True)
class Engagement:
    unique: int = 0
    total: int = 0
    machine_unique: int = 0
    machine_total: int = 0


@dataclass(frozen=True)
class LinkClicks:
    number: int
    url: str
    unique: int
    total: int
    machine_total: int


@dataclass(frozen=True)
class CampaignReport:
    campaign_id: int
    name: str
    subject: str
    state: str
    tracking: bool
    started_at: datetime | None
    recipients: int
    sent: int
    delivered: int
    deferred: int
    bounced: int
    bounced_hard: int
    bounced_soft: int
    bounced_block: int
    complained: int
    unsubscribed: int
    opens: Engagement = field(default_factory=Engagement)
    clicks: Engagement = field(default_factory=Engagement)
    links: tuple[LinkClicks, ...] = ()

    def rate(self, part: int, whole: int | None = None) -> float:
        base = self.delivered if whole is None else whole
        return part / base if base else 0.0


def _engagement(stats: dict[str, tuple[int, int]], kind: str) -> Engagement:
    human = stats.get(kind, (0, 0))
    machine = stats.get(f"{kind}_machine", (0, 0))
    return Engagement(human[1], human[0], machine[1], machine[0])


def campaign_report(conn: Connection, campaign_id: int) -> CampaignReport:
    row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
    if row is None:
        raise NotFound(f"no campaign with id {campaign_id}")
    by_status = {
        r.status: (int(r.n), int(r.sent))
        for r in conn.execute(
            select(
                outbox.c.status,
                func.count().label("n"),
                func.sum(case((outbox.c.attempts > 0, 1), else_=0)).label("sent"),
            )
            .where(outbox.c.campaign_id == campaign_id)
            .group_by(outbox.c.status)
        )
    }
    stats = {
        r.kind: (int(r.total), int(r.unique))
        for r in conn.execute(
            select(
                events.c.kind,
                func.count().label("total"),
                func.count(distinct(events.c.outbox_id)).label("unique"),
            )
            .where(events.c.campaign_id == campaign_id)
            .group_by(events.c.kind)
        )
    }
    # A row's bounce class: its most severe bounce event.
    classes: dict[int, str] = {}
    for r in conn.execute(
        select(events.c.outbox_id, events.c.kind).where(
            and_(events.c.campaign_id == campaign_id, events.c.kind.in_(BOUNCE_KINDS))
        )
    ):
        current = classes.get(r.outbox_id)
        if current is None or BOUNCE_KINDS.index(r.kind) < BOUNCE_KINDS.index(current):
            classes[r.outbox_id] = r.kind
    bounced_rows = set(
        conn.execute(
            select(outbox.c.id).where(
                and_(
                    outbox.c.campaign_id == campaign_id,
                    or_(
                        outbox.c.status == "bounced",
                        outbox.c.id.in_(
                            select(events.c.outbox_id).where(
                                and_(
                                    events.c.campaign_id == campaign_id,
                                    events.c.kind.in_(BOUNCE_KINDS),
                                )
                            )
                        ),
                    ),
                )
            )
        ).scalars()
    )
    unclassified = len(bounced_rows - set(classes))
    kinds = list(classes.values())
    link_stats: dict[tuple[int, str], tuple[int, int]] = {
        (int(r.code), r.kind): (int(r.total), int(r.unique))
        for r in conn.execute(
            select(
                events.c.code,
                events.c.kind,
                func.count().label("total"),
                func.count(distinct(events.c.outbox_id)).label("unique"),
            )
            .where(
                and_(
                    events.c.campaign_id == campaign_id,
                    events.c.kind.in_(("click", "click_machine")),
                    events.c.code.is_not(None),
                )
            )
            .group_by(events.c.code, events.c.kind)
        )
    }
    links = tuple(
        LinkClicks(
            number=r.number,
            url=r.url,
            unique=link_stats.get((r.number, "click"), (0, 0))[1],
            total=link_stats.get((r.number, "click"), (0, 0))[0],
            machine_total=link_stats.get((r.number, "click_machine"), (0, 0))[0],
        )
        for r in conn.execute(
            select(tracking_links.c.number, tracking_links.c.url)
            .where(tracking_links.c.campaign_id == campaign_id)
            .order_by(tracking_links.c.number)
        )
    )
    m = row._mapping
    return CampaignReport(
        campaign_id=campaign_id,
        name=m["name"],
        subject=m["subject"],
        state=m["state"],
        tracking=bool(m["tracking"]),
        started_at=m["started_at"],
        recipients=sum(n for n, _ in by_status.values()),
        sent=sum(int(s or 0) for _, s in by_status.values()),
        delivered=by_status.get("delivered", (0, 0))[0],
        deferred=stats.get("deferred", (0, 0))[1],
        bounced=len(bounced_rows),
        bounced_hard=kinds.count("bounce_hard") + unclassified,
        bounced_soft=kinds.count("bounce_soft"),
        bounced_block=kinds.count("bounce_block"),
        complained=stats.get("complaint", (0, 0))[1],
        unsubscribed=stats.get("unsubscribe", (0, 0))[1],
        opens=_engagement(stats, "open"),
        clicks=_engagement(stats, "click"),
        links=links,
    )
