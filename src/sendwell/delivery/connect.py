"""Opening an SMTP session for a ready queue: to its MX hosts, or through its relays.

Direct delivery tries the MX hosts in preference order (each of their addresses in
turn), with the TLS policy of the site's shaping. A source that relays tries its relays
in failover order and logs in when the relay has credentials. The first session that is
ready to take mail wins; when none is, the last failure is raised.
"""

from __future__ import annotations

from collections.abc import Callable

from sendwell.delivery.ready import ReadyQueue
from sendwell.delivery.shaping import Relay
from sendwell.delivery.smtp import SmtpConnection
from sendwell.errors import DeliveryError, TemporaryFailure


async def open_session(
    ready: ReadyQueue,
    *,
    smtp_port: int,
    helo_name: str,
    timeout: float,
    on_refusal: Callable[[DeliveryError], None],
) -> tuple[SmtpConnection, str, Relay | None]:
    """A usable session, the host name it is connected to, and the relay (if relaying).

    ``on_refusal`` sees every MX host's refusal (e.g. ``421 too many connections`` at
    the greeting), so automation rules can react to it.
    """
    if ready.relays:
        conn, host, relay = await _open_relay(ready, helo_name=helo_name, timeout=timeout)
        return conn, host, relay
    route = ready.route
    tls = ready.limits.limits.tls or "opportunistic"
    last: DeliveryError = TemporaryFailure(0, f"no usable MX host for {route.domain}")
    for mx in route.hosts:
        for address in mx.addresses:
            try:
                conn = await SmtpConnection.open(
                    address, smtp_port, helo_name=helo_name, local_addr=ready.source.address,
                    timeout=timeout, server_hostname=mx.name, starttls=tls,
                )  # fmt: skip
            except DeliveryError as exc:
                last = exc
                on_refusal(exc)
                continue
            return conn, mx.name, None
    raise last


async def _open_relay(
    ready: ReadyQueue, *, helo_name: str, timeout: float
) -> tuple[SmtpConnection, str, Relay]:
    """An authenticated session to the first relay that accepts us (failover order)."""
    last: DeliveryError = TemporaryFailure(0, "no relay configured")
    for relay in ready.relays:
        try:
            conn = await SmtpConnection.open(
                relay.host, relay.port, helo_name=helo_name, local_addr=ready.source.address,
                timeout=timeout, server_hostname=relay.host, starttls=relay.tls,
            )  # fmt: skip
        except DeliveryError as exc:
            last = exc
            continue
        if relay.username:
            try:
                await conn.auth(relay.username, relay.password())
            except DeliveryError as exc:
                await conn.close()
                last = exc
                continue
        return conn, relay.host, relay
    raise last
