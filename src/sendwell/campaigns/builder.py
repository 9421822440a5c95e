"""The campaigns' :class:`~sendwell.delivery.jobs.MessageBuilder`: personalized, signed messages.

For each leased batch it loads the recipients in one query, prepares each campaign once
(cached for the life of the worker: compiled templates, sender identity, the From
domain's DKIM signer), renders per recipient and assembles the MIME bytes with:

* a VERP return path naming the outbox row;
* the bulk headers (``List-Unsubscribe`` + ``List-Unsubscribe-Post``, ``Feedback-ID``,
  ``X-Sendwell-Ref``) from ``compose.headers``;
* templates see ``subscriber``, ``campaign``, ``sender`` (organization, postal address)
  and the recipient's ``unsubscribe_url``, ``preferences_url`` and ``view_url``;
* a DKIM signature, last, when the From domain is a sending domain with keys;
* when the campaign's ``tracking`` is on: the template's literal links rewritten to signed
  click URLs (``tracking.rewrite``; the campaign's allow-list is stored on first
  preparation) and an open pixel. Privacy mode (``tracking`` off) leaves the HTML as is.

A builder made with ``test_send`` prepares campaigns for test messages (``campaigns.testsend``):
the subject starts with ``[TEST]`` and links are left untracked, so a tester's clicks and
opens never count in the campaign's report.

Limit: a campaign's preparation is cached, so a sending domain added while a worker runs
is used by that worker only after it restarts (or for campaigns it has not seen yet).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from sendwell.audience.optin import confirm_url
from sendwell.campaigns.records import Campaign
from sendwell.campaigns.sender import CampaignSender, SenderDefaults, campaign_sender
from sendwell.campaigns.service import campaign_kind, get_campaign
from sendwell.clock import Clock
from sendwell.compose.dkim import DkimSigner
from sendwell.compose.headers import BulkHeaders, bulk_headers
from sendwell.compose.links import recipient_links
from sendwell.compose.message import MessageParts, build_message
from sendwell.compose.reference import reference_token, unsubscribe_address
from sendwell.compose.verp import verp_address
from sendwell.content.templates import CompiledTemplate, compile_template, subscriber_context
from sendwell.content.text import html_to_text
from sendwell.delivery.jobs import BuildFailure, OutboxJob, PreparedMessage
from sendwell.domains.store import signer_for
from sendwell.errors import SendwellError
from sendwell.store.schema import campaigns, subscribers
from sendwell.tracking.allowlist import register_links
from sendwell.tracking.rewrite import rewrite, tracked_links
from sendwell.tracking.tokens import ClickRef, Keyring, sign, sign_click

log = logging.getLogger("sendwell.campaigns.builder")

TEST_SUBJECT_PREFIX = "[TEST]"


@dataclass(frozen=True)
class _Prepared:
    campaign: Campaign
    template: CompiledTemplate
    sender_domain: str
    sender: CampaignSender
    signer: DkimSigner | None
    links: dict[str, int] | None  # the click allow-list; None: tracking off
    kind: str = "campaign"  # or a list's transactional "confirmation" / "welcome" stream


@dataclass(frozen=True)
class Person:
    """The subscriber fields a message is personalized with."""

    email: str
    first_name: str | None
    last_name: str | None
    attributes: dict[str, Any]


class CampaignMessageBuilder:
    """Builds each outbox job's message from its campaign and subscriber."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock,
        secret_key: bytes,
        bounce_domain: str = "",
        public_url: str = "http://localhost:8000",
        feedback_sender: str = "sendwell",
        sender_defaults: SenderDefaults | None = None,
        test_send: bool = False,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._key = secret_key
        self._bounce_domain = bounce_domain
        self._public_url = public_url
        self._feedback_sender = feedback_sender
        self._defaults = sender_defaults or SenderDefaults()
        self._test_send = test_send
        self._campaigns: dict[int, _Prepared | BuildFailure] = {}
        self._ring = Keyring.of(secret_key)

    def _campaign(self, campaign_id: int) -> _Prepared | BuildFailure:
        cached = self._campaigns.get(campaign_id)
        if cached is None:
            try:
                with self._engine.connect() as conn:
                    campaign = get_campaign(conn, campaign_id)
                    domain = campaign.from_email.rpartition("@")[2]
                    sender = campaign_sender(conn, campaign_id, self._defaults)
                    signer = signer_for(conn, domain, self._key)
                    tracking = conn.execute(
                        select(campaigns.c.tracking).where(campaigns.c.id == campaign_id)
                    ).scalar()
                template = compile_template(
                    f"{TEST_SUBJECT_PREFIX} {campaign.subject}"
                    if self._test_send
                    else campaign.subject,
                    campaign.html_template,
                    campaign.text_template,
                    derive_text=True,
                )
                links = None
                if tracking and not self._test_send:
                    with self._engine.begin() as conn:
                        links = register_links(
                            conn, campaign_id, tracked_links(campaign.html_template)
                        )
                with self._engine.connect() as conn:
                    kind = campaign_kind(conn, campaign_id)
                cached = _Prepared(campaign, template, domain, sender, signer, links, kind)
            except SendwellError as exc:
                cached = BuildFailure(f"campaign {campaign_id}: {exc}")
            self._campaigns[campaign_id] = cached
        return cached

    def build(self, jobs: Sequence[OutboxJob]) -> list[PreparedMessage | BuildFailure]:
        ids = [j.subscriber_id for j in jobs if j.subscriber_id is not None]
        people: dict[int, Person] = {}
        with self._engine.connect() as conn:
            for chunk_start in range(0, len(ids), 900):
                chunk = ids[chunk_start : chunk_start + 900]
                for row in conn.execute(
                    select(
                        subscribers.c.id,
                        subscribers.c.email,
                        subscribers.c.first_name,
                        subscribers.c.last_name,
                        subscribers.c.attributes,
                    ).where(subscribers.c.id.in_(chunk))
                ):
                    people[row.id] = Person(
                        row.email, row.first_name, row.last_name, row.attributes or {}
                    )
        out: list[PreparedMessage | BuildFailure] = []
        for job in jobs:
            person = people.get(job.subscriber_id) if job.subscriber_id is not None else None
            if person is None:
                out.append(BuildFailure("subscriber no longer exists"))
                continue
            try:
                out.append(self.build_one(job, person))
            except Exception as exc:
                # A bug met by one recipient's data fails that job with the reason, instead
                # of failing the whole lease (whose rows would come back, and fail, forever).
                log.exception("building the message of outbox row %d failed", job.id)
                out.append(BuildFailure(f"could not build the message: {exc!r}"))
        return out

    def _track(self, html: str, job: OutboxJob, links: dict[str, int]) -> str:
        ring = self._ring
        base = self._public_url.rstrip("/")

        def click_url(number: int) -> str:
            return f"{base}/c/{sign_click(ClickRef(job.id, job.campaign_id, number), ring)}"

        return rewrite(html, links, click_url, f"{base}/o/{sign('o', job.id, ring)}.gif")

    def build_one(self, job: OutboxJob, person: Person) -> PreparedMessage | BuildFailure:
        """One recipient's message (also used for previews and test sends)."""
        prepared = self._campaign(job.campaign_id)
        if isinstance(prepared, BuildFailure):
            return prepared
        campaign = prepared.campaign
        links = recipient_links(self._public_url, job.id, self._key)
        context = {
            "subscriber": subscriber_context(
                email=job.email,
                first_name=person.first_name,
                last_name=person.last_name,
                attributes=person.attributes,
            ),
            "campaign": {"id": campaign.id, "name": campaign.name, "subject": campaign.subject},
            "sender": {
                "organization": prepared.sender.organization,
                "postal_address": prepared.sender.postal_address,
                "name": campaign.from_name,
                "email": campaign.from_email,
            },
            "unsubscribe_url": links.unsubscribe,
            "preferences_url": links.preferences,
            "view_url": links.view,
        }
        if prepared.kind == "confirmation" and job.subscriber_id is not None:
            # A double opt-in message: the signed, expiring link that confirms the list.
            context["confirm_url"] = confirm_url(
                self._public_url,
                self._key,
                job.subscriber_id,
                campaign.list_ids[0],
                self._clock.now(),
            )
        try:
            content = prepared.template.render(context)
        except SendwellError as exc:
            return BuildFailure(str(exc))
        html = content.html
        if prepared.links is not None:
            html = self._track(html, job, prepared.links)
        domain = prepared.sender_domain
        envelope_domain = self._bounce_domain or domain
        headers = bulk_headers(
            BulkHeaders(
                unsubscribe_url=links.unsubscribe,
                unsubscribe_mailto=unsubscribe_address(job.id, envelope_domain, self._key),
                campaign_id=campaign.id,
                list_id=campaign.list_ids[0] if len(campaign.list_ids) == 1 else None,
                stream="campaign",
                sender_id=self._feedback_sender,
                reference=reference_token(job.id, self._key),
            )
        )
        now = self._clock.now()
        data = build_message(
            MessageParts(
                from_name=campaign.from_name,
                from_email=campaign.from_email,
                to_email=job.email,
                subject=content.subject,
                html=html,
                text=content.text if content.text is not None else html_to_text(content.html),
                message_id=f"<{campaign.id}.{job.id}.{secrets.token_hex(6)}@{domain}>",
                date=now,
                extra_headers=headers,
            )
        )
        if prepared.signer is not None:
            try:
                data = prepared.signer.sign(data, now=now)
            except SendwellError as exc:
                return BuildFailure(f"DKIM signing failed: {exc}")
        return PreparedMessage(
            mail_from=verp_address(job.id, envelope_domain, self._key),
            rcpt=job.email,
            data=data,
            smtputf8=not (job.email.isascii() and campaign.from_email.isascii()),
        )
