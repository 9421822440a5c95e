"""Automation rules: suspend with a ramp, throttle, connection caps, thresholds, scopes."""

from __future__ import annotations

from dataclasses import replace

from sendwell.delivery.automation import ActionBoard
from sendwell.delivery.rates import Rate
from sendwell.delivery.shaping import load_shaping

GMAIL_MX = ["gmail-smtp-in.l.google.com"]
STORM = "421-4.7.28 Our system has detected an unusual rate of unsolicited mail"


def _gmail():  # type: ignore[no-untyped-def]
    s = load_shaping()
    return s.site_limits(GMAIL_MX, s.sources[0])


def _observe(board: ActionBoard, reply: str, now: float, limits=None):  # type: ignore[no-untyped-def]
    limits = limits or _gmail()
    return board.observe(
        site_scope="site:a",
        source_scope="source:a",
        reply=reply,
        rules=limits.automation,
        now=now,
        normal_connections=limits.limits.connection_limit,
    )


def test_gmail_421_4_7_28_suspends_then_ramps_back_one_connection_at_a_time() -> None:
    board = ActionBoard()
    limits = _gmail()
    base = limits.limits
    assert _observe(board, STORM, 1000.0) is not None
    shape = board.shape(site_scope="site:a", source_scope="source:a", base=base, now=1001.0)
    assert shape.suspended(1001.0)
    assert shape.suspended_until == 1600.0  # 10 minutes
    conns = []
    for t in (1600.0, 1719.0, 1720.0, 1840.0, 1960.0, 2080.0, 2200.0, 9999.0):
        conns.append(
            board.shape(
                site_scope="site:a", source_scope="source:a", base=base, now=t
            ).connection_limit
        )
    assert conns == [1, 1, 2, 3, 4, 5, 5, 5]  # gmail's normal limit is 5
    assert board.active("site:a", 9999.0) == []


def test_other_sites_are_not_affected() -> None:
    board = ActionBoard()
    _observe(board, STORM, 0.0)
    other = board.shape(site_scope="site:b", source_scope="source:a", base=_gmail().limits, now=1.0)
    assert not other.suspended(1.0)


def test_yahoo_ts03_throttles_and_ts04_suspends() -> None:
    s = load_shaping()
    yahoo = s.site_limits(["mta5.am0.yahoodns.net"], s.sources[0])
    # A warmed-up sender's limit, faster than the rule's 10/min.
    yahoo = replace(yahoo, limits=replace(yahoo.limits, max_message_rate=Rate(5000, 3600)))
    board = ActionBoard()
    _observe(board, "421 4.7.0 [TS03] Messages from 1.2.3.4 temporarily deferred", 0.0, yahoo)
    shape = board.shape(site_scope="site:a", source_scope="source:a", base=yahoo.limits, now=1.0)
    assert shape.max_message_rate == Rate(10, 60)
    assert not shape.suspended(1.0)
    _observe(board, "421 4.7.0 [TSS04] Messages from 1.2.3.4 temporarily deferred", 2.0, yahoo)
    assert board.shape(
        site_scope="site:a", source_scope="source:a", base=yahoo.limits, now=3.0
    ).suspended(3.0)


def test_outlook_connection_limit_rule() -> None:
    s = load_shaping()
    outlook = s.site_limits(["x.mail.protection.outlook.com"], s.sources[0])
    board = ActionBoard()
    _observe(
        board,
        "421 4.3.2 The maximum number of concurrent connections has exceeded a "
        "limit, closing transmission channel",
        0.0,
        outlook,
    )
    assert (
        board.shape(
            site_scope="site:a", source_scope="source:a", base=outlook.limits, now=1.0
        ).connection_limit
        == 1
    )
    assert (
        board.shape(
            site_scope="site:a", source_scope="source:a", base=outlook.limits, now=3601.0
        ).connection_limit
        == 5
    )


def test_generic_too_many_connections_rule_applies_to_unknown_sites() -> None:
    s = load_shaping()
    other = s.site_limits(["mx.example.org"], s.sources[0])
    board = ActionBoard()
    _observe(board, "421 Too many concurrent connections from your IP", 0.0, other)
    assert (
        board.shape(
            site_scope="site:a", source_scope="source:a", base=other.limits, now=1.0
        ).connection_limit
        == 1
    )


def test_threshold_rules_fire_only_after_enough_matches() -> None:
    s = load_shaping()
    outlook = s.site_limits(["x.mail.protection.outlook.com"], s.sources[0])
    board = ActionBoard()
    text = "421 4.7.650 The mail server has been temporarily rate limited due to IP reputation"
    assert _observe(board, text, 0.0, outlook) is None
    assert _observe(board, text, 10.0, outlook) is None
    assert _observe(board, text, 20.0, outlook) is not None
    # Matches spread wider than the window never add up.
    board2 = ActionBoard()
    for t in (0.0, 2000.0, 4000.0):
        assert _observe(board2, text, t, outlook) is None


def test_a_throttle_never_speeds_a_slower_site_up() -> None:
    s = load_shaping()
    yahoo = s.site_limits(["mta5.am0.yahoodns.net"], s.sources[0])  # 100/h, not warmed
    board = ActionBoard()
    _observe(board, "421 4.7.0 [TS03] deferred", 0.0, yahoo)
    shape = board.shape(site_scope="site:a", source_scope="source:a", base=yahoo.limits, now=1.0)
    assert shape.max_message_rate == Rate(100, 3600)


def test_unmatched_replies_change_nothing() -> None:
    board = ActionBoard()
    assert _observe(board, "550 5.1.1 no such user", 0.0) is None
    assert board.actions == {}
