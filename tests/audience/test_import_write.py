"""Writing one import batch: new, existing and suppressed people mixed, ids, evidence."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from sendwell.audience.addresses import normalize
from sendwell.audience.consent import history
from sendwell.audience.import_parse import Batch
from sendwell.audience.import_write import ImportTarget, Mode, write_batch
from sendwell.audience.lists import create_list
from sendwell.audience.records import MailingList, NewSubscriber
from sendwell.audience.subscribers import add_subscribers, get_subscriber
from sendwell.audience.suppressions import suppress
from sendwell.clock import FrozenClock
from sendwell.store.engine import write_transaction
from sendwell.store.schema import subscribers, subscriptions
from sendwell.store.schema_audience import audience_imports, consent_events


def _batch(*rows: tuple[str, str | None, str]) -> Batch:
    """(email, first name, attributes JSON) per row, lines numbered from 2."""
    batch = Batch()
    for line, (email, first, attrs) in enumerate(rows, start=2):
        addr = normalize(email)
        batch.emails.append(addr.email)
        batch.hashes.append(addr.hash)
        batch.domains.append(addr.domain)
        batch.first.append(first)
        batch.last.append(None)
        batch.attrs_json.append(attrs)
        batch.lines.append(line)
        batch.refs.append("shop checkout" if email.startswith("ref") else "")
        batch.ips.append("192.0.2.9" if email.startswith("ref") else None)
        batch.expiries.append(None)
    return batch


def _import(engine: Engine, ml: MailingList, now: datetime) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(audience_imports).values(
                    list_id=ml.id,
                    file_name="people.csv",
                    lawful_basis="consent",
                    wording="Send me the news",
                    wording_version="v2",
                    mode="upsert",
                    state="running",
                    last_line=0,
                    added=0,
                    updated=0,
                    skipped=0,
                    rejected=0,
                    started_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )


@pytest.mark.parametrize("mode", ["upsert", "skip_existing"])
def test_a_mixed_batch_links_every_row_to_its_own_subscriber(
    engine: Engine, clock: FrozenClock, mode: Mode
) -> None:
    now = clock.now()
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
        other = create_list(conn, "Other", now=now)
        # Existing people, with ids below and above each other, on another list.
        add_subscribers(
            conn,
            [NewSubscriber("old@example.com", "Old", None, {"city": "Oslo"})],
            mailing_list=other,
            now=now,
        )
        suppress(conn, "gone@example.com", reason="complaint", now=now)
    import_id = _import(engine, ml, now)
    batch = _batch(
        ("new1@example.com", "N1", '{"plan": "pro"}'),
        ("old@example.com", "Olga", '{"plan": "free"}'),
        ("gone@example.com", None, "{}"),
        ("ref@example.com", None, "{}"),
    )
    with write_transaction(engine) as conn:
        outcome = write_batch(conn, batch, ImportTarget(import_id, ml, mode, now))
    assert outcome.skipped_rows == [[4, "skipped: suppressed (complaint)", "gone@example.com"]]
    upsert = mode == "upsert"
    assert (outcome.added, outcome.updated, outcome.skipped) == (
        2,
        1 if upsert else 0,
        1 if upsert else 2,
    )
    with engine.connect() as conn:
        old = get_subscriber(conn, "old@example.com")
        members = dict(
            conn.execute(
                select(subscribers.c.email, subscriptions.c.status)
                .join(subscriptions, subscriptions.c.subscriber_id == subscribers.c.id)
                .where(subscriptions.c.list_id == ml.id)
            ).all()
        )
        entries = {
            e: history(conn, normalize(e))
            for e in ("new1@example.com", "old@example.com", "ref@example.com")
        }
        assert get_subscriber(conn, "new1@example.com").attributes == {"plan": "pro"}
        linked = conn.execute(
            select(consent_events.c.subscriber_id, subscribers.c.email)
            .join(subscribers, subscribers.c.id == consent_events.c.subscriber_id)
            .where(consent_events.c.import_id == import_id)
        ).all()
    expected = {"new1@example.com", "ref@example.com"} | ({"old@example.com"} if upsert else set())
    assert set(members) == expected and set(members.values()) == {"confirmed"}
    # Every consent entry hangs off the subscriber whose address it records.
    assert sorted(email for _, email in linked) == sorted(expected)
    if upsert:
        assert old.first_name == "Olga" and old.attributes == {"city": "Oslo", "plan": "free"}
        assert [e.action for e in entries["old@example.com"]] == ["import"]
    else:
        assert old.first_name == "Old" and old.attributes == {"city": "Oslo"}
        assert entries["old@example.com"] == []
    ref = entries["ref@example.com"][0].evidence
    assert (ref.source_ref, ref.ip) == ("shop checkout", "192.0.2.9")
    new = entries["new1@example.com"][0].evidence
    assert (new.source, new.source_ref, new.method) == (
        "import",
        f"import:{import_id} people.csv",
        "import",
    )
    assert (new.wording, new.wording_version, new.lawful_basis) == (
        "Send me the news",
        "v2",
        "consent",
    )


def test_import_entries_store_the_shared_evidence_once(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
    import_id = _import(engine, ml, now)
    with write_transaction(engine) as conn:
        write_batch(
            conn,
            _batch(("a@example.com", None, "{}"), ("b@example.com", None, "{}")),
            ImportTarget(import_id, ml, "upsert", now),
        )
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                consent_events.c.wording,
                consent_events.c.wording_version,
                consent_events.c.lawful_basis,
                consent_events.c.source_ref,
                consent_events.c.import_id,
            )
        ).all()
    assert [tuple(r) for r in stored] == [(None, None, None, "", import_id)] * 2


def test_new_subscribers_get_the_ids_after_the_largest(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
        add_subscribers(
            conn, [NewSubscriber(f"p{i}@example.com") for i in range(3)], mailing_list=ml, now=now
        )
        largest = conn.execute(select(subscribers.c.id).order_by(subscribers.c.id.desc())).first()
    import_id = _import(engine, ml, now)
    with write_transaction(engine) as conn:
        write_batch(
            conn,
            _batch(("x@example.com", None, "{}"), ("y@example.com", None, "{}")),
            ImportTarget(import_id, ml, "upsert", now),
        )
    assert largest is not None
    with engine.connect() as conn:
        ids = [get_subscriber(conn, e).id for e in ("x@example.com", "y@example.com")]
        # A later ordinary insert still gets a fresh id (PostgreSQL: the sequence moved on).
        add_subscribers(conn, [NewSubscriber("z@example.com")], mailing_list=ml, now=now)
        z = get_subscriber(conn, "z@example.com").id
    assert ids[0] > largest.id and ids[1] > ids[0] and z not in ids


def test_only_suppressions_in_force_for_this_list_skip_a_row(
    engine: Engine, clock: FrozenClock
) -> None:
    now = clock.now()
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
        other = create_list(conn, "Other", now=now)
        suppress(conn, "elsewhere@example.com", reason="unsubscribe", now=now, list_id=other.id)
        suppress(
            conn,
            "lapsed@example.com",
            reason="manual",
            now=now,
            expires_at=now - timedelta(days=1),
        )
        suppress(conn, "here@example.com", reason="unsubscribe", now=now, list_id=ml.id)
        suppress(
            conn, "later@example.com", reason="manual", now=now, expires_at=now + timedelta(days=1)
        )
    import_id = _import(engine, ml, now)
    emails = ("elsewhere", "lapsed", "here", "later")
    with write_transaction(engine) as conn:
        outcome = write_batch(
            conn,
            _batch(*((f"{e}@example.com", None, "{}") for e in emails)),
            ImportTarget(import_id, ml, "upsert", now),
        )
    assert [row[2] for row in outcome.skipped_rows] == ["here@example.com", "later@example.com"]
    assert outcome.added == 2


@pytest.mark.parametrize("same", [True, False])
def test_per_row_evidence_is_kept_whether_shared_by_the_batch_or_not(
    engine: Engine, clock: FrozenClock, same: bool
) -> None:
    now = clock.now()
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=now)
    import_id = _import(engine, ml, now)
    batch = _batch(("a@example.com", None, "{}"), ("b@example.com", None, "{}"))
    expiry = now + timedelta(days=180)
    batch.refs = ["till 4", "till 4" if same else ""]
    batch.ips = ["198.51.100.1", "198.51.100.1" if same else None]
    batch.expiries = [expiry, expiry if same else None]
    with write_transaction(engine) as conn:
        write_batch(conn, batch, ImportTarget(import_id, ml, "upsert", now))
    with engine.connect() as conn:
        a, b = (history(conn, normalize(e))[0].evidence for e in ("a@example.com", "b@example.com"))
    assert (a.source_ref, a.ip, a.implied_expires_at) == ("till 4", "198.51.100.1", expiry)
    if same:
        assert (b.source_ref, b.ip, b.implied_expires_at) == ("till 4", "198.51.100.1", expiry)
    else:
        assert (b.source_ref, b.ip, b.implied_expires_at) == (
            f"import:{import_id} people.csv",
            None,
            None,
        )
