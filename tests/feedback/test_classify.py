"""Classification from enhanced status codes and reply text (pure)."""

from __future__ import annotations

import pytest

from sendwell.feedback.classify import Verdict, classify, find_smtp_code, find_status


@pytest.mark.parametrize(
    ("status", "text", "action", "expected"),
    [
        ("5.1.1", "550 5.1.1 <a@b.c>: Recipient address rejected: User unknown", "failed", "hard"),
        ("5.1.2", "", "failed", "hard"),
        ("5.1.10", "556 5.1.10 Recipient address has null MX", "failed", "hard"),
        ("", "Sorry, I couldn't find any host by that name.", "failed", "hard"),
        ("5.0.0", "550 5.1.1 The email account that you tried to reach does not exist", "", "hard"),
        ("5.2.2", "552 5.2.2 mailbox full", "failed", "soft"),
        ("", "552 Requested mail action aborted: exceeded storage allocation", "failed", "soft"),
        ("4.2.2", "452 4.2.2 The email account is over quota", "failed", "soft"),
        ("4.0.0", "426 connection timed out", "failed", "soft"),
        # Blocks: the sender's problem, never the recipient's.
        ("5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering", "failed", "block"),
        (
            "5.7.26",
            "550 5.7.26 Unauthenticated email from x is not accepted due to DMARC",
            "",
            "block",
        ),
        (
            "",
            "554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org",
            "",
            "block",
        ),
        ("", "421 4.7.0 [TSS04] Messages temporarily deferred due to user complaints", "", "block"),
        ("4.7.28", "421-4.7.28 Our system has detected an unusual rate of mail", "", "block"),
        ("", "553 5.3.0 Sender address rejected: poor reputation", "failed", "block"),
        # Servers that answer unknown users with a policy code.
        ("5.7.1", "550 5.7.1 Recipient address rejected: user unknown", "failed", "hard"),
        ("5.4.1", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", "", "hard"),
        # Warnings and successes are not failures.
        ("4.4.4", "454 4.4.4 no MX or A for domain", "delayed", "delayed"),
        ("2.0.0", "250 2.0.0 Ok", "delivered", "success"),
        # Nothing recognizable: a permanent failure counts softly, never hard.
        ("", "550 computer says no", "failed", "soft"),
        ("", "", "", "unknown"),
    ],
)
def test_classification(status: str, text: str, action: str, expected: str) -> None:
    assert classify(status, text, action).classification == expected


def test_permanent_unrecognized_is_soft_with_a_reason_that_says_so() -> None:
    verdict = classify("", "550 computer says no", "failed")
    assert verdict.reason == "permanent_unrecognized"


def test_code_extraction() -> None:
    assert find_status("host said: 550 5.1.1 <x@y>: no") == "5.1.1"
    assert find_status("version 1.2.3.4 only") == ""
    assert find_smtp_code("said: 552 5.2.2 full") == 552
    assert find_smtp_code("no code here") is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("550 5.7.1 this message is likely unsolicited mail", "spam_content"),
        ("550 5.7.1 Client host blocked using zen.spamhaus.org", "reputation"),
        ("550 5.7.1 SPF check failed for the sending domain", "authentication"),
        ("550 5.7.1 Delivery not authorized, message refused", "policy"),
    ],
)
def test_a_policy_code_takes_its_reason_from_the_words(text: str, reason: str) -> None:
    assert classify("5.7.1", text, "failed") == Verdict("block", reason)


@pytest.mark.parametrize(
    "text",
    [
        "554: delivery error: dd Not a valid recipient - atlas117.free.mail.ne1.yahoo.com",
        "DNS Error: Domain name not found",
    ],
)
def test_provider_wordings_of_a_dead_address_are_hard(text: str) -> None:
    assert classify("", text, "failed").classification == "hard"
