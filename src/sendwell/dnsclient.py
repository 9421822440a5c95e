"""The one way sendwell builds a DNS resolver (delivery, verification and domain checks).

Given ``(host, port)`` — the ``dns_resolver`` setting, e.g. the sandbox's DNS server — it
asks only that server; given ``None`` it uses the system configuration
(``/etc/resolv.conf``). A lookup never waits longer than ``timeout`` in total.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.asyncresolver
import dns.exception

from sendwell.errors import ConfigError


def make_resolver(nameserver: tuple[str, int] | None, timeout: float) -> dns.asyncresolver.Resolver:
    if nameserver is None:
        try:
            resolver = dns.asyncresolver.Resolver()
        except dns.exception.DNSException as exc:
            raise ConfigError(f"cannot read the system DNS configuration: {exc}") from exc
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [nameserver[0]]
        resolver.port = nameserver[1]
    resolver.timeout = timeout
    resolver.lifetime = timeout
    return resolver


@dataclass(frozen=True, slots=True)
class MxHost:
    """One mail exchanger: its preference, name (lower-case, no final dot) and addresses."""

    preference: int
    name: str
    addresses: tuple[str, ...]
