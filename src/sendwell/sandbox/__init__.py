"""The simulated internet: an authoritative DNS server and provider-like MX servers.

Runs on loopback only (127.0.0.0/8) for tests, demos and benchmarks; it never touches a
real network. Start with :class:`Sandbox` (async) or :class:`SandboxThread` (sync) and a
:class:`SandboxConfig` loaded from the shipped ``default.toml`` or a world file of your
own. Failures to start raise :class:`sendwell.errors.SandboxError`.
"""

from __future__ import annotations

from sendwell.sandbox.dns import DnsRecord, DnsServer
from sendwell.sandbox.mx import MxServer, ProviderState
from sendwell.sandbox.profiles import (
    MxHost,
    ProviderProfile,
    RateLimit,
    ReplyTexts,
    WorldFile,
    load_world,
)
from sendwell.sandbox.record import RECORD_KEYS, ReceivedMessage, RecordWriter
from sendwell.sandbox.world import Sandbox, SandboxConfig, SandboxThread

__all__ = [
    "RECORD_KEYS",
    "DnsRecord",
    "DnsServer",
    "MxHost",
    "MxServer",
    "ProviderProfile",
    "ProviderState",
    "RateLimit",
    "ReceivedMessage",
    "RecordWriter",
    "ReplyTexts",
    "Sandbox",
    "SandboxConfig",
    "SandboxThread",
    "WorldFile",
    "load_world",
]
