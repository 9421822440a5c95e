"""Delivering a few messages now, over the engine's routes, outside the outbox.

For test sends: each message goes out the way the worker would send it — a source of the
campaign's pool chosen as the worker chooses (weighted), then the source's relays in
failover order, or the recipient domain's MX hosts in preference order with the site's
TLS policy from the shaping file (``delivery.connect``) — and the SMTP outcome of each is
returned instead of being written to an outbox row.

Limits: no throttles, connection caps or retries — this is for a handful of messages that
a person is waiting for; each message gets a session of its own.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sendwell.delivery.connect import open_session
from sendwell.delivery.jobs import PreparedMessage
from sendwell.delivery.mx import MxResolver
from sendwell.delivery.ready import ReadyQueue, relay_route
from sendwell.delivery.shaping import Shaping
from sendwell.errors import DeliveryError


@dataclass(frozen=True)
class DirectResult:
    """The SMTP outcome of one message: the final reply, or why it failed."""

    rcpt: str
    ok: bool
    code: int  # 0 when no reply was received (DNS failure, refused connection...)
    reply: str
    host: str | None  # the MX host or relay that answered


async def deliver_now(
    messages: Sequence[PreparedMessage],
    *,
    shaping: Shaping,
    pool: str,
    resolver: MxResolver,
    smtp_port: int,
    helo_name: str,
    timeout: float,
    now: datetime,
    rng: random.Random | None = None,
) -> list[DirectResult]:
    """Send each message now; one result per message, in order."""
    chooser = rng or random.Random()
    results = []
    for message in messages:
        source = shaping.choose(pool, chooser)
        host: str | None = None
        try:
            if source.relays:
                relays = tuple(shaping.relays[name] for name in source.relays)
                ready = ReadyQueue(
                    source=source,
                    route=relay_route(relays, now),
                    limits=shaping.relay_limits(source),
                    relays=relays,
                )
            else:
                route = await resolver.resolve(message.rcpt.rpartition("@")[2])
                limits = shaping.site_limits([h.name for h in route.hosts], source)
                ready = ReadyQueue(source=source, route=route, limits=limits)
            conn, host, _ = await open_session(
                ready, smtp_port=smtp_port, helo_name=helo_name, timeout=timeout,
                on_refusal=lambda exc: None,
            )  # fmt: skip
            try:
                reply = await conn.send(
                    message.mail_from, message.rcpt, message.data, smtputf8=message.smtputf8
                )
            finally:
                await conn.close()
        except DeliveryError as exc:
            results.append(DirectResult(message.rcpt, False, exc.code, exc.reply, host))
            continue
        results.append(DirectResult(message.rcpt, True, reply.code, reply.text, host))
    return results
