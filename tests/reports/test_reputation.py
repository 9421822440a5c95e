"""Reputation against the 0.1 % target and 0.3 % ceiling."""

from __future__ import annotations

from sqlalchemy import Engine

from sendwell.clock import FrozenClock
from sendwell.reports.export import reputation_json
from sendwell.reports.reputation import reputation, total, verdict
from tests.reports.helpers import known_campaign
from tests.tracking.helpers import seed


def test_verdicts() -> None:
    assert [verdict(x) for x in (0.0, 0.00099, 0.001, 0.0029, 0.003, 0.5)] == [
        "ok", "ok", "warning", "warning", "over", "over",
    ]  # fmt: skip


def test_reputation_across_campaigns(engine: Engine, clock: FrozenClock) -> None:
    bad = known_campaign(engine, clock.now())
    clean = seed(engine, clock.now(), people=3, name="D")
    with engine.connect() as conn:
        rows = {r.campaign_id: r for r in reputation(conn)}
    assert rows[bad.campaign_id].bounce_rate == 0.1
    assert rows[bad.campaign_id].complaint_rate == 1 / 8
    assert rows[bad.campaign_id].complaint_verdict == "over"
    assert rows[clean.campaign_id].bounce_verdict == "ok"
    everything = total(list(rows.values()))
    assert (everything.attempted, everything.hard_bounces) == (13, 1)


def test_reputation_json_is_the_cli_contract(engine: Engine, clock: FrozenClock) -> None:
    bad = known_campaign(engine, clock.now())
    with engine.connect() as conn:
        data = reputation_json(reputation(conn))
    assert (data["target"], data["ceiling"]) == (0.001, 0.003)
    [row] = data["campaigns"]
    assert row["campaign"] == bad.campaign_id
    assert (row["attempted"], row["hard_bounces"], row["bounce_rate"]) == (10, 1, 0.1)
    assert row["complaint_verdict"] == "over"
    assert data["total"]["campaign"] is None
    assert data["total"]["name"] == "all campaigns"
    assert reputation_json([])["total"]["attempted"] == 0
