"""Verdict rules and campaign policy."""

from __future__ import annotations

import pytest

from sendwell.errors import ConfigError
from sendwell.verify.records import Finding, Reason
from sendwell.verify.verdict import Policy, decide, excluded_by_policy


def f(*codes: Reason) -> list[Finding]:
    return [Finding(code) for code in codes]


def test_every_reason_has_a_rule() -> None:
    for code in Reason:
        decide([Finding(code)])


@pytest.mark.parametrize(
    ("codes", "verdict"),
    [
        ((), "valid"),
        ((Reason.FREE, Reason.MAILBOX_OK), "valid"),
        ((Reason.ROLE,), "risky"),
        ((Reason.DISPOSABLE, Reason.ROLE), "risky"),
        ((Reason.DNS_TIMEOUT,), "unknown"),
        ((Reason.ROLE, Reason.DNS_ERROR), "unknown"),
        ((Reason.DNS_TIMEOUT, Reason.NULL_MX), "invalid"),
        ((Reason.MAILBOX_NOT_FOUND,), "invalid"),
        ((Reason.HARD_BOUNCED,), "invalid"),
    ],
)
def test_worst_severity_wins(codes: tuple[Reason, ...], verdict: str) -> None:
    assert decide(f(*codes))[0] == verdict


def test_score_falls_with_each_problem() -> None:
    assert decide([])[1] == 100
    assert decide(f(Reason.ROLE))[1] > decide(f(Reason.ROLE, Reason.CATCH_ALL))[1]
    assert decide(f(Reason.SYNTAX))[1] <= 5
    assert decide(f(*Reason))[1] == 0


def test_default_policy_excludes_invalid_and_disposable() -> None:
    policy = Policy()
    assert excluded_by_policy("invalid", [], policy)
    assert excluded_by_policy("risky", ["disposable"], policy)
    assert not excluded_by_policy("risky", ["role"], policy)
    assert not excluded_by_policy("unknown", ["dns_timeout"], policy)
    assert not excluded_by_policy("valid", ["free"], policy)


def test_policy_from_settings_text() -> None:
    policy = Policy.from_text("invalid, unknown", "disposable,role")
    assert policy.verdicts == {"invalid", "unknown"}
    assert policy.reasons == {Reason.DISPOSABLE, Reason.ROLE}
    assert excluded_by_policy("risky", ["role"], policy)
    assert Policy.from_text("", "") == Policy(frozenset(), frozenset())


@pytest.mark.parametrize(
    ("verdicts", "reasons", "message"),
    [
        ("invalid,bogus", "", "unknown verdict 'bogus'"),
        ("", "disposable,nope", "unknown reason code 'nope'"),
        ("valid", "", "would exclude everyone"),
    ],
)
def test_bad_policy_settings(verdicts: str, reasons: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Policy.from_text(verdicts, reasons)
