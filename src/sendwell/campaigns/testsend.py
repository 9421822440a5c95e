"""Test sends: a campaign's real message, marked as a test, delivered now to given addresses.

A test message is built by a test builder (``CampaignMessageBuilder(test_send=True)``):
the campaign's content personalized for a named subscriber, or the first confirmed one
(or a placeholder when the lists are empty), with ``[TEST]`` before the subject,
untracked links (so a tester's clicks never count), and links and return path carrying
the placeholder outbox row 0, which no handler accepts (a tester's unsubscribe click
unsubscribes nobody; a bounce of a test message changes nothing). It is addressed to the
test address and DKIM-signed like every message.

Delivery goes over the engine's routes (``delivery.oneoff``), now, and each address's
SMTP outcome is recorded as a ``test`` event of the campaign. No outbox row is written,
so campaign counts, reports and frequency caps do not see test sends.

The three steps are separate so that the caller owns the event loop and the
transactions: :func:`prepare_test` (database), the delivery (async), :func:`record_test`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert

from sendwell.audience.addresses import normalize
from sendwell.campaigns.builder import CampaignMessageBuilder
from sendwell.campaigns.preview import PLACEHOLDER_OUTBOX_ID, sample_person
from sendwell.campaigns.service import get_campaign
from sendwell.delivery.jobs import BuildFailure, OutboxJob, PreparedMessage
from sendwell.delivery.oneoff import DirectResult
from sendwell.errors import InvalidInput, TemplateError
from sendwell.store.schema import events

MAX_TEST_ADDRESSES = 20


@dataclass(frozen=True)
class PreparedTest:
    """Messages ready to go: one per test address, all from the campaign's pool."""

    campaign_id: int
    pool: str
    personalized_for: str
    messages: tuple[PreparedMessage, ...]


def prepare_test(
    conn: Connection,
    builder: CampaignMessageBuilder,
    campaign_id: int,
    *,
    to: Sequence[str],
    as_email: str | None = None,
) -> PreparedTest:
    """Build the test message for each address in ``to`` (``builder`` in test mode)."""
    if not to:
        raise InvalidInput("give at least one address to send the test to")
    addresses = list(dict.fromkeys(normalize(a).email for a in to))
    if len(addresses) > MAX_TEST_ADDRESSES:
        raise InvalidInput(
            f"a test goes to at most {MAX_TEST_ADDRESSES} addresses; start the campaign "
            "to reach more"
        )
    campaign = get_campaign(conn, campaign_id)
    person, subscriber_id = sample_person(conn, campaign_id, as_email)
    messages = []
    for address in addresses:
        job = OutboxJob(PLACEHOLDER_OUTBOX_ID, campaign_id, subscriber_id, address,
                        address.rpartition("@")[2], 0, None)  # fmt: skip
        built = builder.build_one(job, person)
        if isinstance(built, BuildFailure):
            raise TemplateError(f"campaign {campaign_id}: {built.reason}")
        messages.append(built)
    return PreparedTest(campaign_id, campaign.pool, person.email, tuple(messages))


def record_test(
    conn: Connection, test: PreparedTest, results: Sequence[DirectResult], *, now: datetime
) -> None:
    """One ``test`` event per address, with the SMTP outcome."""
    if not results:
        return
    conn.execute(
        insert(events),
        [
            {
                "at": now, "kind": "test", "campaign_id": test.campaign_id, "outbox_id": None,
                "subscriber_id": None, "code": r.code or None,
                "detail": f"test to {r.rcpt} as {test.personalized_for}: "
                f"{'accepted' if r.ok else 'failed'}: {r.code or ''} {r.reply}".strip(),
            }
            for r in results
        ],
    )  # fmt: skip
