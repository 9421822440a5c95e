"""Text-bounce recognizers on constructed messages in each MTA's documented wording.

These are written by us after the MTAs' templates (no public sample with a reuse licence
was found for them); real samples live in the corpus.
"""

from __future__ import annotations

from sendwell.feedback.formats import recognize

EXIM = """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  gone@example.net
    host mx.example.net [192.0.2.7]
    SMTP error from remote mail server after RCPT TO:<gone@example.net>:
    550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------
"""

YAHOO = """Sorry, we were unable to deliver your message to the following address.

<full@example.net>:
Remote host said: 552 1 Requested mail action aborted, mailbox not found [RCPT_TO]
"""

EXCHANGE = """Delivery has failed to these recipients or groups:

old@example.net
The address couldn't be found. #550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##
"""


def test_exim() -> None:
    found = recognize(EXIM)
    assert found is not None and found.format == "exim"
    (failure,) = found.failures
    assert failure.address == "gone@example.net"
    assert "550 5.1.1" in failure.diagnostic and not failure.temporary


def test_yahoo() -> None:
    found = recognize(YAHOO)
    assert found is not None and found.format == "yahoo"
    assert found.failures[0].address == "full@example.net"


def test_exchange() -> None:
    found = recognize(EXCHANGE)
    assert found is not None and found.format == "exchange"
    assert found.failures[0].address == "old@example.net"
    assert "5.1.1" in found.failures[0].diagnostic


def test_x_failed_recipients_fallback() -> None:
    found = recognize("Something went wrong:\n550 no such user here\n", "a@example.net")
    assert found is not None and found.format == "generic"
    assert found.failures[0].address == "a@example.net"
