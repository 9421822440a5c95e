"""The consent log: implied-consent expiry and the append-only history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from sendwell.audience.addresses import normalize
from sendwell.audience.consent import Evidence, check_basis, history, implied_expiry, record
from sendwell.clock import FrozenClock
from sendwell.errors import InvalidInput


def test_casl_implied_consent_expiry() -> None:
    bought = datetime(2026, 8, 31, 12, 0, tzinfo=UTC)
    assert implied_expiry("purchase", bought) == datetime(2028, 8, 31, 12, 0, tzinfo=UTC)
    # Six months after 31 August is the last day of February.
    assert implied_expiry("inquiry", bought) == datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        implied_expiry("handshake", bought)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="lawful basis"):
        check_basis("legitimate_interest")


def test_history_keeps_every_entry_in_order(engine: Engine, clock: FrozenClock) -> None:
    h = normalize("ann@example.com").hash
    form = Evidence(
        source="form",
        source_ref="https://example.com/join",
        ip="192.0.2.7",
        user_agent="Mozilla/5.0",
        wording="Send me the weekly news",
        wording_version="v3",
        method="checkbox",
        lawful_basis="consent",
    )
    with engine.begin() as conn:
        record(conn, at=clock.now(), email_hash=h, action="subscribe", evidence=form, list_id=1)
        clock.advance(60)
        record(
            conn,
            at=clock.now(),
            email_hash=h,
            action="unsubscribe",
            evidence=Evidence(source="link"),
            list_id=1,
        )
        entries = history(conn, normalize("ann@example.com"))
    assert [e.action for e in entries] == ["subscribe", "unsubscribe"]
    assert entries[0].evidence == form
    assert entries[0].at.tzinfo is not None
    assert entries[0].as_json()["wording_version"] == "v3"
