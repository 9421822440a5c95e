"""The sandbox's authoritative DNS server on a background thread, for tests of code that
resolves from plain (non-async) call paths: the start gate's DNS check, the CLI.

``publish_domain`` serves a stored sending domain's records (DKIM, SPF, DMARC) as an
operator would publish what ``sendwell domains add`` prints.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sendwell.domains.records import parse_sources, required_records
from sendwell.domains.store import SendingDomain
from sendwell.sandbox.dns import DnsRecord, DnsServer


class DnsThread:
    def __init__(self, server: DnsServer, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self._loop = loop
        self.published: set[str] = set()  # domains publish_domain served already

    @property
    def address(self) -> tuple[str, int]:
        return self.server.address

    @property
    def setting(self) -> str:
        """The value for the ``dns_resolver`` setting."""
        host, port = self.address
        return f"{host}:{port}"

    def add(self, records: Iterable[DnsRecord]) -> None:
        batch = list(records)

        async def apply() -> None:
            for record in batch:
                self.server.add(record)

        asyncio.run_coroutine_threadsafe(apply(), self._loop).result(10)

    def fault(self, name: str, fault: str | None) -> None:
        async def apply() -> None:
            self.server.set_fault(name, fault)

        asyncio.run_coroutine_threadsafe(apply(), self._loop).result(10)

    def publish_domain(
        self,
        domain: SendingDomain,
        secret_key: bytes,
        *,
        spf_sources: str = "",
        bounce_domain: str = "",
        skip: Iterable[str] = (),
    ) -> None:
        """Serve the domain's records, except those whose purpose starts with ``skip``
        (once per domain: publishing again would add a second SPF record)."""
        if domain.domain in self.published:
            return
        self.published.add(domain.domain)
        specs = required_records(
            domain=domain.domain, selector=domain.selector,
            private_pem=domain.private_pem(secret_key), ed25519_selector=None,
            ed25519_pem=None, spf_sources=parse_sources(spf_sources),
            bounce_domain=bounce_domain, mail_host="mail." + domain.domain,
        )  # fmt: skip
        left_out = tuple(skip)
        self.add(
            DnsRecord(s.name, s.rtype, s.value)
            for s in specs
            if not (left_out and s.purpose.startswith(left_out))
        )


@contextmanager
def dns_thread(records: Iterable[DnsRecord] = ()) -> Iterator[DnsThread]:
    """A started DnsServer on 127.0.0.1 (a free port), stopped on exit."""
    started = threading.Event()
    box: dict[str, object] = {}
    initial = list(records)

    async def main() -> None:
        stop = asyncio.Event()
        box["stop"] = stop
        try:
            async with DnsServer(initial) as server:
                box["thread"] = DnsThread(server, asyncio.get_running_loop())
                started.set()
                await stop.wait()
        except BaseException as exc:  # reported to the waiting test
            box["error"] = exc
            started.set()
            raise

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    if not started.wait(30) or "error" in box:
        raise RuntimeError(f"DNS server did not start: {box.get('error')}")
    dns = box["thread"]
    assert isinstance(dns, DnsThread)
    try:
        yield dns
    finally:
        stop = box["stop"]
        assert isinstance(stop, asyncio.Event)
        dns._loop.call_soon_threadsafe(stop.set)
        thread.join(30)
