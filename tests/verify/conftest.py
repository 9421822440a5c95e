"""Shared helpers for verify tests: a small sandbox world with probe-worthy providers."""

from __future__ import annotations

import random

from sendwell.sandbox import MxHost, ProviderProfile, SandboxConfig

ONLY_ANN_AND_BOB = "^(?!(ann|bob)$)"  # every other local part is unknown


def probe_world() -> SandboxConfig:
    """Providers for each probe outcome, on a loopback subnet of this test process."""
    net = f"127.{random.randint(40, 250)}.{random.randint(1, 250)}"
    providers = (
        ProviderProfile(
            name="strict",
            domains=("strict.sandbox",),
            mx_hosts=(MxHost(10, "mx.strict.sandbox", f"{net}.1"),),
            unknown_mailbox=ONLY_ANN_AND_BOB,
        ),
        ProviderProfile(
            name="corp",
            domains=("catchall.sandbox",),
            mx_hosts=(MxHost(10, "mx.catchall.sandbox", f"{net}.2"),),
        ),
        ProviderProfile(
            name="grey",
            domains=("grey.sandbox",),
            mx_hosts=(MxHost(10, "mx.grey.sandbox", f"{net}.3"),),
            unknown_mailbox=ONLY_ANN_AND_BOB,
            greylist_seconds=300,
        ),
        ProviderProfile(
            name="msft",
            domains=("msft.sandbox",),
            mx_hosts=(MxHost(10, "msft-sandbox.mail.protection.outlook.sandbox", f"{net}.4"),),
            unknown_mailbox=ONLY_ANN_AND_BOB,
        ),
    )
    return SandboxConfig(providers=providers, dns_port=0, smtp_port=0)
