"""Policies applied to real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from sendwell.audience.addresses import normalize
from sendwell.audience.suppressions import is_suppressed
from sendwell.clock import FrozenClock
from sendwell.compose.reference import reference_token, unsubscribe_address
from sendwell.feedback.apply import apply_report, record_session_bounce
from sendwell.feedback.breakers import last_pause_reason
from sendwell.feedback.parse import parse_feedback
from sendwell.feedback.policy import FeedbackPolicy
from sendwell.store.schema import campaigns, events, outbox, subscriptions
from tests.feedback.helpers import BOUNCE_DOMAIN, KEY, arf, dsn, make_campaign, verp

POLICY = FeedbackPolicy(breaker_min_sample=1_000_000)


def _apply(engine: Engine, raw: bytes, clock: FrozenClock, policy: FeedbackPolicy = POLICY):  # type: ignore[no-untyped-def]
    report = parse_feedback(raw, KEY)
    with engine.begin() as conn:
        return apply_report(conn, report, now=clock.now(), policy=policy)


def _suppressed(engine: Engine, email: str, clock: FrozenClock) -> bool:
    with engine.connect() as conn:
        return is_suppressed(conn, normalize(email).hash, now=clock.now())


def _kinds(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(events.c.kind).order_by(events.c.id)).scalars())


def test_hard_bounce_suppresses_once(engine: Engine, clock: FrozenClock) -> None:
    w = make_campaign(engine, ["a@example.net"], clock.now())
    raw = dsn(verp(w.rows["a@example.net"]), "a@example.net", "5.1.1", "550 5.1.1 unknown")
    assert [a.kind for a in _apply(engine, raw, clock)] == ["bounce_hard", "suppressed"]
    assert _apply(engine, raw, clock) == []  # a re-delivered DSN changes nothing
    assert _suppressed(engine, "a@example.net", clock)
    assert _kinds(engine) == ["bounce_hard", "suppressed"]


def test_the_row_address_is_suppressed_not_the_one_the_report_names(
    engine: Engine, clock: FrozenClock
) -> None:
    w = make_campaign(engine, ["real@example.net", "other@example.net"], clock.now())
    raw = dsn(verp(w.rows["real@example.net"]), "other@example.net", "5.1.1", "550 unknown")
    _apply(engine, raw, clock)
    assert _suppressed(engine, "real@example.net", clock)
    assert not _suppressed(engine, "other@example.net", clock)


def test_block_never_suppresses(engine: Engine, clock: FrozenClock) -> None:
    w = make_campaign(engine, ["a@example.net"], clock.now())
    raw = dsn(verp(w.rows["a@example.net"]), "a@example.net", "5.7.1", "550 5.7.1 spam blocked")
    assert [a.kind for a in _apply(engine, raw, clock)] == ["bounce_block"]
    assert not _suppressed(engine, "a@example.net", clock)


def test_forged_bounce_changes_nothing(engine: Engine, clock: FrozenClock) -> None:
    make_campaign(engine, ["a@example.net"], clock.now())
    raw = dsn(f"b-1-abcdefabcd@{BOUNCE_DOMAIN}", "a@example.net", "5.1.1", "550 unknown")
    assert _apply(engine, raw, clock) == []
    assert _kinds(engine) == []


def _returned(ref: str) -> str:
    return f"From: News <news@example.com>\nTo: someone@example.net\nSubject: Hi\n{ref}\n"


def test_forged_verp_and_forged_reference_suppress_nobody(
    engine: Engine, clock: FrozenClock
) -> None:
    w = make_campaign(engine, ["a@example.net"], clock.now())
    row = w.rows["a@example.net"]
    forged = f"X-Sendwell-Ref: {row}.0123456789abcdef"
    raw = dsn(f"b-{row}-abcdefabcd@{BOUNCE_DOMAIN}", "a@example.net", "5.1.1", "550 unknown",
              original=_returned(forged))  # fmt: skip
    report = parse_feedback(raw, KEY)
    assert (report.kind, report.outbox_id, report.id_source) == ("bounce", None, "none")
    assert _apply(engine, raw, clock) == []
    assert _kinds(engine) == []
    assert not _suppressed(engine, "a@example.net", clock)


def test_a_valid_reference_names_the_row_when_the_envelope_is_forged(
    engine: Engine, clock: FrozenClock
) -> None:
    """The quoted reference is signed: it was copied from the message sent to that row, so
    it may act — on that row's address only, whatever address the bounce names."""
    w = make_campaign(engine, ["real@example.net", "victim@example.net"], clock.now())
    ref = f"X-Sendwell-Ref: {reference_token(w.rows['real@example.net'], KEY)}"
    forged_envelope = f"b-{w.rows['victim@example.net']}-abcdefabcd@{BOUNCE_DOMAIN}"
    raw = dsn(forged_envelope, "victim@example.net", "5.1.1", "550 5.1.1 unknown",
              original=_returned(ref))  # fmt: skip
    report = parse_feedback(raw, KEY)
    assert (report.outbox_id, report.id_source) == (w.rows["real@example.net"], "reference")
    assert [a.email for a in _apply(engine, raw, clock)] == ["real@example.net"] * 2
    assert not _suppressed(engine, "victim@example.net", clock)


def test_the_signed_envelope_wins_over_a_quoted_reference(
    engine: Engine, clock: FrozenClock
) -> None:
    w = make_campaign(engine, ["a@example.net", "b@example.net"], clock.now())
    ref = f"X-Sendwell-Ref: {reference_token(w.rows['b@example.net'], KEY)}"
    raw = dsn(verp(w.rows["a@example.net"]), "a@example.net", "5.1.1", "550 5.1.1 unknown",
              original=_returned(ref))  # fmt: skip
    assert parse_feedback(raw, KEY).id_source == "verp"
    _apply(engine, raw, clock)
    assert _suppressed(engine, "a@example.net", clock)
    assert not _suppressed(engine, "b@example.net", clock)


def test_soft_bounces_suppress_after_k_of_the_last_n(engine: Engine, clock: FrozenClock) -> None:
    policy = FeedbackPolicy(soft_bounce_limit=2, soft_bounce_window=3, breaker_min_sample=10**6)
    # Four campaigns to the same address: soft, ok, ok, soft -> 1 of last 3 -> no.
    rows = [make_campaign(engine, ["s@example.net"], clock.now()).rows["s@example.net"]]
    full = "552 5.2.2 mailbox full"
    _apply(engine, dsn(verp(rows[0]), "s@example.net", "5.2.2", full), clock, policy)
    for _ in range(3):
        rows.append(make_campaign(engine, ["s@example.net"], clock.now()).rows["s@example.net"])
    _apply(engine, dsn(verp(rows[3]), "s@example.net", "5.2.2", full), clock, policy)
    assert not _suppressed(engine, "s@example.net", clock)  # the old one left the window
    rows.append(make_campaign(engine, ["s@example.net"], clock.now()).rows["s@example.net"])
    actions = _apply(engine, dsn(verp(rows[4]), "s@example.net", "5.2.2", full), clock, policy)
    assert [a.kind for a in actions] == ["bounce_soft", "suppressed"]
    assert "2 of the last 3" in actions[1].detail


def test_complaint_unsubscribes_from_everything_and_suppresses(
    engine: Engine, clock: FrozenClock
) -> None:
    w = make_campaign(engine, ["c@example.net"], clock.now())
    make_campaign(engine, ["c@example.net"], clock.now())  # a second list
    raw = arf(f"X-Sendwell-Ref: {reference_token(w.rows['c@example.net'], KEY)}")
    kinds = [a.kind for a in _apply(engine, raw, clock)]
    assert kinds == ["complaint", "suppressed", "unsubscribe"]
    with engine.connect() as conn:
        statuses = set(conn.execute(select(subscriptions.c.status)).scalars())
    assert statuses == {"unsubscribed"}
    assert _suppressed(engine, "c@example.net", clock)


def test_mailto_unsubscribe_leaves_only_the_campaign_lists(
    engine: Engine, clock: FrozenClock
) -> None:
    w = make_campaign(engine, ["u@example.net"], clock.now())
    other = make_campaign(engine, ["u@example.net"], clock.now())
    to = unsubscribe_address(w.rows["u@example.net"], BOUNCE_DOMAIN, KEY)
    raw = f"From: u@example.net\r\nTo: {to}\r\nSubject: unsubscribe\r\n\r\n".encode()
    assert [a.kind for a in _apply(engine, raw, clock)] == ["unsubscribe"]
    with engine.connect() as conn:
        rows = dict(conn.execute(select(subscriptions.c.list_id, subscriptions.c.status)).all())
    assert rows == {w.list_id: "unsubscribed", other.list_id: "confirmed"}
    assert not _suppressed(engine, "u@example.net", clock)


def test_session_5xx_counts_as_a_bounce(engine: Engine, clock: FrozenClock) -> None:
    w = make_campaign(engine, ["x@example.net", "y@example.net"], clock.now())
    with engine.begin() as conn:
        hard = record_session_bounce(
            conn,
            w.rows["x@example.net"],
            550,
            "5.1.1 <x@example.net>: User unknown",
            now=clock.now(),
            policy=POLICY,
        )
        block = record_session_bounce(
            conn,
            w.rows["y@example.net"],
            554,
            "5.7.1 rejected: IP on Spamhaus list",
            now=clock.now(),
            policy=POLICY,
        )
    assert [a.kind for a in hard] == ["bounce_hard", "suppressed"]
    assert [a.kind for a in block] == ["bounce_block"]


def test_breaker_pauses_a_running_campaign_with_its_reason(
    engine: Engine, clock: FrozenClock
) -> None:
    emails = [f"p{i}@example.net" for i in range(10)]
    w = make_campaign(engine, emails, clock.now())
    policy = FeedbackPolicy(max_hard_bounce_rate=0.25, breaker_min_sample=10)
    for email in emails[:2]:
        _apply(engine, dsn(verp(w.rows[email]), email, "5.1.1", "550 unknown"), clock, policy)
    with engine.connect() as conn:
        assert conn.execute(select(campaigns.c.state)).scalar_one() == "running"
    actions = _apply(engine, dsn(verp(w.rows[emails[2]]), emails[2], "5.1.1", "550"), clock, policy)
    assert actions[-1].kind == "campaign_paused"
    with engine.connect() as conn:
        assert conn.execute(select(campaigns.c.state)).scalar_one() == "paused"
        reason = last_pause_reason(conn, w.campaign_id)
    assert reason is not None and "3/10 = 30.00%" in reason


def test_complaint_breaker_uses_delivered_messages(engine: Engine, clock: FrozenClock) -> None:
    emails = [f"q{i}@example.net" for i in range(20)]
    w = make_campaign(engine, emails, clock.now())
    with engine.begin() as conn:  # half of them bounced in the session
        conn.execute(update(outbox).where(outbox.c.email.in_(emails[10:])).values(status="bounced"))
    policy = FeedbackPolicy(breaker_min_sample=20, max_complaint_rate=0.05)
    raw = arf(f"X-Sendwell-Ref: {reference_token(w.rows[emails[0]], KEY)}")
    actions = _apply(engine, raw, clock, policy)  # 1/10 delivered = 10 % > 5 %
    assert actions[-1].kind == "campaign_paused"
    assert "complaints 1/10" in actions[-1].detail
