"""The whole simulated internet: one DNS server and every provider's MX servers.

:class:`Sandbox` builds the world from a :class:`SandboxConfig` and runs it in the
caller's event loop; :class:`SandboxThread` runs it in a daemon thread of its own for
synchronous callers (the CLI demo, tests driving a synchronous worker)::

    with SandboxThread(Sandbox(SandboxConfig.load().with_ports(0, 0))) as sandbox:
        resolver_address = sandbox.dns_address   # point the resolver here
        port = sandbox.smtp_port                  # every MX host listens on this port

DNS records are generated from the providers (an MX record per hosted domain naming the
provider's MX hosts, an A record per MX host) plus the config's extra records and faults.
All MX servers share one TCP port on their distinct loopback addresses, because the
delivery engine connects to every MX host on one configured port. With ``smtp_port`` 0 the
first MX server picks a free port and the others bind the same one; if that port is taken
on another address, the whole binding is retried with a fresh port.

Limits: loopback only; one world per port (two worlds with the same MX addresses need
different ports).
"""

from __future__ import annotations

import asyncio
import importlib.resources
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType

from sendwell.errors import SandboxError
from sendwell.sandbox.dns import DnsRecord, DnsServer
from sendwell.sandbox.mx import MxServer, ProviderState
from sendwell.sandbox.profiles import ProviderProfile, load_world
from sendwell.sandbox.record import ReceivedMessage, RecordWriter

__all__ = ["DEFAULT_CONFIG_NAME", "Sandbox", "SandboxConfig", "SandboxThread"]

DEFAULT_CONFIG_NAME = "default.toml"
_PORT_ATTEMPTS = 8


@dataclass(frozen=True)
class SandboxConfig:
    """What the world contains and where it listens."""

    providers: tuple[ProviderProfile, ...]
    dns_records: tuple[DnsRecord, ...] = ()
    dns_faults: Mapping[str, str] = field(default_factory=dict)
    dns_host: str = "127.0.0.1"
    dns_port: int = 0
    smtp_port: int = 2525

    @classmethod
    def load(cls, path: Path | None = None) -> SandboxConfig:
        """Read a world file; the shipped ``default.toml`` when ``path`` is None."""
        if path is None:
            resource = importlib.resources.files("sendwell.sandbox") / DEFAULT_CONFIG_NAME
            world = load_world(Path(DEFAULT_CONFIG_NAME), resource.read_text(encoding="utf-8"))
        else:
            world = load_world(path)
        return cls(world.providers, world.dns_records, dict(world.dns_faults))

    def with_ports(self, dns_port: int, smtp_port: int) -> SandboxConfig:
        return replace(self, dns_port=dns_port, smtp_port=smtp_port)

    def all_dns_records(self) -> tuple[DnsRecord, ...]:
        """The providers' MX and A records followed by the extra records."""
        records: list[DnsRecord] = []
        for provider in self.providers:
            for domain in provider.domains:
                for mx in provider.mx_hosts:
                    records.append(DnsRecord(domain, "MX", f"{mx.preference} {mx.hostname}."))
            for mx in provider.mx_hosts:
                rtype = "AAAA" if ":" in mx.ip else "A"
                records.append(DnsRecord(mx.hostname, rtype, mx.ip))
        return (*records, *self.dns_records)


class Sandbox:
    """Runs the world described by ``config`` in the current event loop."""

    def __init__(
        self,
        config: SandboxConfig,
        record_path: Path | None = None,
        keep_messages: bool = False,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.record_path = record_path
        self.keep_messages = keep_messages
        self.now = now
        self._messages: list[ReceivedMessage] = []
        self._dns: DnsServer | None = None
        self._mx: list[MxServer] = []
        self._record: RecordWriter | None = None
        self._smtp_port: int | None = None
        self._states: list[ProviderState] = []

    @property
    def dns_address(self) -> tuple[str, int]:
        if self._dns is None:
            raise SandboxError("sandbox is not started")
        return self._dns.address

    @property
    def dns(self) -> DnsServer:
        """The running DNS server, e.g. to add records or faults during a test."""
        if self._dns is None:
            raise SandboxError("sandbox is not started")
        return self._dns

    @property
    def smtp_port(self) -> int:
        if self._smtp_port is None:
            raise SandboxError("sandbox is not started")
        return self._smtp_port

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Accepted (message, recipient) pairs, oldest first (only with keep_messages)."""
        return self._messages

    def open_sessions(self) -> int:
        """SMTP sessions open right now, across every provider."""
        return sum(state.sessions_open for state in self._states)

    def domains(self) -> dict[str, str]:
        """Recipient domain -> provider name."""
        return {d: p.name for p in self.config.providers for d in (*p.domains, *p.accept_domains)}

    async def start(self) -> None:
        """Open the record file, start DNS, then every MX server; all or nothing."""
        try:
            if self.record_path is not None:
                self._record = _open_record(self.record_path)
            self._dns = DnsServer(
                self.config.all_dns_records(),
                host=self.config.dns_host,
                port=self.config.dns_port,
                faults=self.config.dns_faults,
            )
            await self._dns.start()
            await self._start_mx()
        except BaseException:
            await self.stop()
            raise

    async def _start_mx(self) -> None:
        wanted = self.config.smtp_port
        attempts = _PORT_ATTEMPTS if wanted == 0 else 1
        for attempt in range(attempts):
            port = wanted
            try:
                self._states = []
                for provider in self.config.providers:
                    state = ProviderState(provider, self.now)
                    self._states.append(state)
                    for host in provider.mx_hosts:
                        server = MxServer(
                            provider,
                            host,
                            port,
                            state=state,
                            record=self._record,
                            messages=self._messages if self.keep_messages else None,
                        )
                        await server.start()
                        self._mx.append(server)
                        port = server.address[1]
            except SandboxError:
                await self._stop_mx()
                # A port we picked ourselves can be swapped for another free one.
                if wanted == 0 and port != 0 and attempt + 1 < attempts:
                    continue
                raise
            self._smtp_port = port
            return

    async def _stop_mx(self) -> None:
        servers, self._mx = self._mx, []
        for server in servers:
            await server.stop()

    async def stop(self) -> None:
        await self._stop_mx()
        if self._dns is not None:
            await self._dns.stop()
            self._dns = None
        if self._record is not None:
            self._record.close()
            self._record = None
        self._smtp_port = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _open_record(path: Path) -> RecordWriter:
    try:
        return RecordWriter(path)
    except OSError as error:
        raise SandboxError(f"cannot write record file {path}: {error.strerror or error}") from error


class SandboxThread:
    """Runs a :class:`Sandbox` in its own event loop on a daemon thread.

    :meth:`start` blocks until the world listens, or raises the SandboxError that stopped
    it; :meth:`stop` shuts it down and joins the thread.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None

    @property
    def dns_address(self) -> tuple[str, int]:
        return self.sandbox.dns_address

    @property
    def smtp_port(self) -> int:
        return self.sandbox.smtp_port

    def start(self, timeout: float = 30.0) -> None:
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="sendwell-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise SandboxError(f"sandbox did not start within {timeout:g} s")
        error = self._start_error()
        if error is not None:
            self._thread.join()
            self._thread = None
            if isinstance(error, SandboxError):
                raise error
            raise SandboxError(f"sandbox failed to start: {error}") from error

    def _start_error(self) -> BaseException | None:
        # Set by the sandbox thread; read through a method so the type checker does not
        # assume the value is still the None assigned before the thread started.
        return self._error

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.sandbox.start()
        except BaseException as error:
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.sandbox.stop()

    def add_dns(self, records: Iterable[DnsRecord], timeout: float = 10.0) -> None:
        """Serve more DNS records from now on (applied in the sandbox's own loop, so it is
        safe from any thread), e.g. a sending domain's DKIM, SPF and DMARC records."""
        loop = self._loop
        if loop is None or self._thread is None:
            raise SandboxError("sandbox is not started")
        batch = list(records)

        async def apply() -> None:
            for record in batch:
                self.sandbox.dns.add(record)

        asyncio.run_coroutine_threadsafe(apply(), loop).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        loop, stop, thread = self._loop, self._stop, self._thread
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> SandboxThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
