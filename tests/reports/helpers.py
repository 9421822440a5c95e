"""A campaign with known outcomes, for report tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, update

from sendwell.store.schema import events, outbox
from sendwell.tracking.buffer import EventBuffer, TrackedHit
from sendwell.tracking.classify import Hit
from tests.tracking.helpers import Seeded, message_html, seed

UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"


def known_campaign(engine: Engine, now: datetime) -> Seeded:
    """10 recipients delivered at ``now - 1h`` except: #8 hard-bounced (session), #9
    soft-bounced; #1 deferred once before delivery (latency 600 s); #2 complained;
    #3 unsubscribed. Opens: #0 twice (human), #1 via Apple MPP. Clicks: #0 link 0 twice,
    #1 link 1 once, #4 HEAD on link 0 (machine)."""
    s = seed(engine, now, people=10)
    from sendwell.clock import FrozenClock

    message_html(engine, FrozenClock(now), s.outbox_ids[0])  # registers the links
    ids = s.outbox_ids
    at = s.delivered_at
    with engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == ids[8])
            .values(status="bounced", mx_host="mx.yahoo.sandbox")
        )
        conn.execute(update(outbox).where(outbox.c.id == ids[9]).values(status="bounced"))
        conn.execute(
            update(outbox)
            .where(outbox.c.id == ids[1])
            .values(first_attempt_at=at - timedelta(seconds=600), attempts=2)
        )

        def ev(kind: str, i: int, when: datetime = at) -> dict[str, object]:
            return {
                "at": when,
                "kind": kind,
                "campaign_id": s.campaign_id,
                "outbox_id": ids[i],
                "subscriber_id": None,
                "code": None,
                "detail": "",
            }

        rows = [ev("delivered", i) for i in range(8)]
        rows += [
            ev("deferred", 1, at - timedelta(seconds=600)),
            ev("bounced", 8),
            ev("bounce_hard", 8),
        ]
        rows += [
            ev("bounced", 9),
            ev("bounce_soft", 9),
            ev("complaint", 2, at + timedelta(hours=2)),
        ]
        rows += [ev("unsubscribe", 3, at + timedelta(hours=1))]
        conn.execute(insert(events), rows)
    later = now + timedelta(hours=1)
    hits = [
        TrackedHit(Hit("open", later, "GET", UA, "203.0.113.1"), ids[0]),
        TrackedHit(Hit("open", later + timedelta(minutes=1), "GET", UA, "203.0.113.1"), ids[0]),
        TrackedHit(Hit("open", later, "GET", "Mozilla/5.0", "17.1.2.3"), ids[1]),
        TrackedHit(Hit("click", later, "GET", UA, "203.0.113.1"), ids[0], s.campaign_id, 0),
        TrackedHit(
            Hit("click", later + timedelta(minutes=2), "GET", UA, "203.0.113.1"),
            ids[0],
            s.campaign_id,
            0,
        ),
        TrackedHit(Hit("click", later, "GET", UA, "203.0.113.9"), ids[1], s.campaign_id, 1),
        TrackedHit(Hit("click", later, "HEAD", UA, "203.0.113.9"), ids[4], s.campaign_id, 0),
    ]
    EventBuffer(engine).write(hits)
    return s
