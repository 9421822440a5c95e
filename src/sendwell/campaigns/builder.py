"""The campaigns' :class:`~sendwell.delivery.jobs.MessageBuilder`: personalized messages.

For each leased batch it loads the recipients in one query, compiles each campaign's
templates once (cached for the life of the worker), renders them per recipient and
assembles the MIME bytes with a VERP return path naming the outbox row.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select

from sendwell.campaigns.records import Campaign
from sendwell.campaigns.service import get_campaign
from sendwell.clock import Clock
from sendwell.compose.message import MessageParts, build_message
from sendwell.compose.verp import verp_address
from sendwell.content.templates import CompiledTemplate, compile_template, subscriber_context
from sendwell.content.text import html_to_text
from sendwell.delivery.jobs import BuildFailure, OutboxJob, PreparedMessage
from sendwell.errors import SendwellError
from sendwell.store.schema import subscribers


@dataclass(frozen=True)
class _Prepared:
    campaign: Campaign
    template: CompiledTemplate
    sender_domain: str


class CampaignMessageBuilder:
    """Builds each outbox job's message from its campaign and subscriber."""

    def __init__(
        self, engine: Engine, *, clock: Clock, secret_key: bytes, bounce_domain: str = ""
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._key = secret_key
        self._bounce_domain = bounce_domain
        self._campaigns: dict[int, _Prepared | BuildFailure] = {}

    def _campaign(self, campaign_id: int) -> _Prepared | BuildFailure:
        cached = self._campaigns.get(campaign_id)
        if cached is None:
            try:
                with self._engine.connect() as conn:
                    campaign = get_campaign(conn, campaign_id)
                template = compile_template(
                    campaign.subject, campaign.html_template, campaign.text_template
                )
                cached = _Prepared(campaign, template, campaign.from_email.rpartition("@")[2])
            except SendwellError as exc:
                cached = BuildFailure(f"campaign {campaign_id}: {exc}")
            self._campaigns[campaign_id] = cached
        return cached

    def build(self, jobs: Sequence[OutboxJob]) -> list[PreparedMessage | BuildFailure]:
        ids = [j.subscriber_id for j in jobs if j.subscriber_id is not None]
        people = {}
        with self._engine.connect() as conn:
            for chunk_start in range(0, len(ids), 900):
                chunk = ids[chunk_start : chunk_start + 900]
                for row in conn.execute(
                    select(
                        subscribers.c.id,
                        subscribers.c.first_name,
                        subscribers.c.last_name,
                        subscribers.c.attributes,
                    ).where(subscribers.c.id.in_(chunk))
                ):
                    people[row.id] = row
        now = self._clock.now()
        out: list[PreparedMessage | BuildFailure] = []
        for job in jobs:
            prepared = self._campaign(job.campaign_id)
            if isinstance(prepared, BuildFailure):
                out.append(prepared)
                continue
            person = people.get(job.subscriber_id) if job.subscriber_id is not None else None
            if person is None:
                out.append(BuildFailure("subscriber no longer exists"))
                continue
            campaign = prepared.campaign
            context = {
                "subscriber": subscriber_context(
                    email=job.email,
                    first_name=person.first_name,
                    last_name=person.last_name,
                    attributes=person.attributes or {},
                ),
                "campaign": {"id": campaign.id, "name": campaign.name, "subject": campaign.subject},
            }
            try:
                content = prepared.template.render(context)
            except SendwellError as exc:
                out.append(BuildFailure(str(exc)))
                continue
            domain = prepared.sender_domain
            data = build_message(
                MessageParts(
                    from_name=campaign.from_name,
                    from_email=campaign.from_email,
                    to_email=job.email,
                    subject=content.subject,
                    html=content.html,
                    text=content.text if content.text is not None else html_to_text(content.html),
                    message_id=f"<{campaign.id}.{job.id}.{secrets.token_hex(6)}@{domain}>",
                    date=now,
                )
            )
            out.append(
                PreparedMessage(
                    mail_from=verp_address(job.id, self._bounce_domain or domain, self._key),
                    rcpt=job.email,
                    data=data,
                    smtputf8=not (job.email.isascii() and campaign.from_email.isascii()),
                )
            )
        return out
