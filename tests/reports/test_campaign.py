"""Campaign aggregates: outcomes, bounce classes, human vs machine engagement, links."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from sendwell.clock import FrozenClock
from sendwell.errors import NotFound
from sendwell.reports.campaign import Engagement, campaign_report
from tests.reports.helpers import known_campaign


def test_campaign_report(engine: Engine, clock: FrozenClock) -> None:
    s = known_campaign(engine, clock.now())
    with engine.connect() as conn:
        r = campaign_report(conn, s.campaign_id)
    assert (r.recipients, r.sent, r.delivered, r.deferred) == (10, 10, 8, 1)
    assert (r.bounced, r.bounced_hard, r.bounced_soft, r.bounced_block) == (2, 1, 1, 0)
    assert (r.complained, r.unsubscribed) == (1, 1)
    assert r.opens == Engagement(unique=1, total=2, machine_unique=1, machine_total=1)
    assert r.clicks == Engagement(unique=2, total=3, machine_unique=1, machine_total=1)
    assert [(x.number, x.unique, x.total, x.machine_total) for x in r.links] == [
        (0, 1, 2, 1), (1, 1, 1, 0), (2, 0, 0, 0),
    ]  # fmt: skip
    assert r.links[0].url == "https://shop.example.com/sale?from=mail&x=1"
    assert r.rate(r.clicks.unique) == pytest.approx(0.25)


def test_unknown_campaign(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(NotFound):
        campaign_report(conn, 999)
