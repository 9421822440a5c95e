"""An authoritative DNS server for the sandbox's made-up domains.

It answers real DNS packets over UDP and TCP (one port for both, as real servers do) so
that the delivery engine's ordinary resolver can be pointed at it. It serves only the
records it is given:

* names it knows: authoritative answers (AA flag) with each record's TTL; MX answers carry
  the A/AAAA records of their exchanges in the additional section;
* a known name without the asked type: NOERROR with an empty answer (NODATA) and the
  zone's SOA in the authority section;
* an unknown name inside a served zone: NXDOMAIN with the SOA;
* a name outside every zone: REFUSED.

A zone is a registered domain: the last two labels of each record's name
(``mx1.gmail.sandbox`` -> ``gmail.sandbox``). The top-level domains of those zones
(``sandbox``) are served too, so a domain nobody registered (``nosuch.sandbox``) gets
NXDOMAIN, as it would on the real internet, rather than REFUSED.

Faults are set per name: ``"servfail"`` answers SERVFAIL, ``"timeout"`` never answers.

Limits: classes other than IN, wildcards, CNAME, delegation, DNSSEC and zone transfers are
not supported. UDP answers bigger than the client's buffer (512 bytes without EDNS) come
back truncated (TC) so the client retries over TCP. Malformed packets are ignored on UDP
and close the connection on TCP; they never stop the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

from sendwell.errors import SandboxError

__all__ = ["FAULTS", "RECORD_TYPES", "DnsRecord", "DnsServer"]

log = logging.getLogger(__name__)

RECORD_TYPES = frozenset({"MX", "A", "AAAA", "TXT"})
FAULTS = frozenset({"servfail", "timeout"})

# How often start() tries a fresh free port when the TCP side of a port 0 bind collides.
_BIND_ATTEMPTS = 8
_TXT_CHUNK = 255
_UDP_DEFAULT_PAYLOAD = 512


def normalise_name(name: str) -> str:
    """Lower-case, without the trailing dot: the form used as a key everywhere here."""
    return name.strip().rstrip(".").lower()


@dataclass(frozen=True)
class DnsRecord:
    """One resource record the server answers with.

    ``value`` is in presentation form, except TXT, which is the raw text (no quotes):
    ``"10 mx1.gmail.sandbox."`` (MX), ``"0 ."`` (null MX), ``"127.0.1.1"`` (A), or
    ``"v=spf1 -all"`` (TXT; texts longer than 255 bytes are split into strings).
    """

    name: str
    rtype: str
    value: str
    ttl: int = 300

    def __post_init__(self) -> None:
        if self.rtype.upper() not in RECORD_TYPES:
            raise SandboxError(
                f"DNS record {self.name!r}: unsupported type {self.rtype!r} "
                f"(one of {', '.join(sorted(RECORD_TYPES))})"
            )

    def to_rdata(self) -> dns.rdata.Rdata:
        """The dnspython rdata; raises SandboxError when the value does not parse."""
        rdtype = dns.rdatatype.from_text(self.rtype.upper())
        if rdtype == dns.rdatatype.TXT:
            raw = self.value.encode()
            chunks = [raw[i : i + _TXT_CHUNK] for i in range(0, len(raw), _TXT_CHUNK)] or [b""]
            return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, rdtype, chunks)
        try:
            return dns.rdata.from_text(
                dns.rdataclass.IN, rdtype, self.value, origin=dns.name.root, relativize=False
            )
        except (dns.exception.DNSException, ValueError) as error:
            raise SandboxError(
                f"DNS record {self.name} {self.rtype}: bad value {self.value!r}: {error}"
            ) from error


def _zone_of(name: str) -> str:
    labels = name.split(".")
    return ".".join(labels[-2:])


class _Zones:
    """The record set, indexed for lookups; rebuilt incrementally by ``add``."""

    def __init__(self) -> None:
        # name -> rdtype -> (ttl, rdatas); the ttl of the first record of a set wins,
        # because an RRset has one TTL.
        self.names: dict[str, dict[dns.rdatatype.RdataType, tuple[int, list[dns.rdata.Rdata]]]] = {}
        self.zones: set[str] = set()

    def add(self, record: DnsRecord) -> None:
        name = normalise_name(record.name)
        rdata = record.to_rdata()
        by_type = self.names.setdefault(name, {})
        _ttl, rdatas = by_type.setdefault(rdata.rdtype, (record.ttl, []))
        if rdata not in rdatas:
            rdatas.append(rdata)
        zone = _zone_of(name)
        self.zones.add(zone)
        self.zones.add(zone.split(".")[-1])

    def zone_for(self, name: str) -> str | None:
        """The most specific served zone containing ``name``."""
        best: str | None = None
        for zone in self.zones:
            if (name == zone or name.endswith("." + zone)) and (
                best is None or len(zone) > len(best)
            ):
                best = zone
        return best


def _soa(zone: str) -> dns.rrset.RRset:
    origin = dns.name.from_text(zone)
    text = f"ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 300"
    return dns.rrset.from_text(origin, 300, "IN", "SOA", text)


class DnsServer:
    """Serves ``records`` on ``host:port`` over UDP and TCP until stopped.

    Usage::

        async with DnsServer([DnsRecord("gmail.sandbox", "MX", "10 mx1.gmail.sandbox.")]) as s:
            host, port = s.address
    """

    def __init__(
        self,
        records: Iterable[DnsRecord],
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Mapping[str, str] | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._zones = _Zones()
        for record in records:
            self._zones.add(record)
        self._faults: dict[str, str] = {}
        for name, fault in (faults or {}).items():
            self.set_fault(name, fault)
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        # Open TCP connections, closed by stop() (Python 3.11 servers do not track them).
        self._tcp_writers: set[asyncio.StreamWriter] = set()
        self._address: tuple[str, int] | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the server listens on; only valid after :meth:`start`."""
        if self._address is None:
            raise SandboxError("DNS server is not started")
        return self._address

    def add(self, record: DnsRecord) -> None:
        """Serve one more record (takes effect for the next query)."""
        self._zones.add(record)

    def set_fault(self, name: str, fault: str | None) -> None:
        """Make ``name`` answer SERVFAIL or never answer; ``None`` clears the fault."""
        key = normalise_name(name)
        if fault is None:
            self._faults.pop(key, None)
            return
        if fault not in FAULTS:
            raise SandboxError(
                f"DNS fault for {name!r}: unknown fault {fault!r} "
                f"(one of {', '.join(sorted(FAULTS))})"
            )
        self._faults[key] = fault

    async def start(self) -> None:
        """Bind UDP and TCP on the same port; raises SandboxError when that fails."""
        loop = asyncio.get_running_loop()
        attempts = _BIND_ATTEMPTS if self._port == 0 else 1
        last_error: OSError | None = None
        for _ in range(attempts):
            try:
                transport, _protocol = await loop.create_datagram_endpoint(
                    lambda: _UdpProtocol(self), local_addr=(self._host, self._port)
                )
            except OSError as error:
                raise SandboxError(
                    f"cannot listen on {self._host}:{self._port} (DNS/UDP): "
                    f"{error.strerror or error}"
                ) from error
            port = int(transport.get_extra_info("sockname")[1])
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self._host, port)
            except OSError as error:
                transport.close()
                last_error = error
                # Only a port we picked ourselves may be swapped for another one.
                if self._port == 0 and error.errno == errno.EADDRINUSE:
                    continue
                break
            self._udp = transport
            self._address = (self._host, port)
            log.info("sandbox DNS listening on %s:%d", self._host, port)
            return
        reason = last_error.strerror if last_error and last_error.strerror else last_error
        raise SandboxError(f"cannot listen on {self._host}:{self._port} (DNS/TCP): {reason}")

    async def stop(self) -> None:
        """Stop listening and close open TCP connections."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            for writer in list(self._tcp_writers):
                writer.close()
            await self._tcp.wait_closed()
            self._tcp = None

    async def __aenter__(self) -> DnsServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- answering -------------------------------------------------------------------

    def answer(self, wire: bytes, max_size: int | None) -> bytes | None:
        """The wire-format reply to one query, or None to stay silent.

        ``max_size`` None means TCP (no size limit short of 65535); otherwise the UDP
        payload the client can take when it sent no EDNS.
        """
        try:
            query = dns.message.from_wire(wire)
        except (dns.exception.DNSException, ValueError, struct.error):
            return None
        if query.flags & dns.flags.QR:
            return None  # a response, not a query: never answer, avoids loops
        response = self._respond(query)
        if response is None:
            return None
        limit = 65535
        if max_size is not None:
            limit = max(query.payload, _UDP_DEFAULT_PAYLOAD) if query.edns >= 0 else max_size
        try:
            return bytes(response.to_wire(max_size=limit))
        except dns.exception.TooBig:
            response.answer.clear()
            response.authority.clear()
            response.additional.clear()
            response.flags |= dns.flags.TC
            return bytes(response.to_wire(max_size=limit))

    def _respond(self, query: dns.message.Message) -> dns.message.Message | None:
        response = dns.message.make_response(query)
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        name = normalise_name(question.name.to_text())
        fault = self._faults.get(name)
        if fault == "timeout":
            return None
        if fault == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        zone = self._zones.zone_for(name)
        if zone is None or question.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        response.flags |= dns.flags.AA
        by_type = self._zones.names.get(name)
        if by_type is None:
            if question.rdtype == dns.rdatatype.SOA and name == zone:
                response.answer.append(_soa(zone))
                return response
            response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(_soa(zone))
            return response
        found = by_type.get(question.rdtype)
        if found is None:
            response.authority.append(_soa(zone))  # NODATA
            return response
        ttl, rdatas = found
        # Owner in our canonical (lower) case: names compressed against it keep their case.
        owner = dns.name.from_text(name)
        response.answer.append(self._rrset(owner, question.rdtype, ttl, rdatas))
        if question.rdtype == dns.rdatatype.MX:
            self._add_exchange_addresses(response, rdatas)
        return response

    @staticmethod
    def _rrset(
        owner: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        ttl: int,
        rdatas: list[dns.rdata.Rdata],
    ) -> dns.rrset.RRset:
        rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, rdtype)
        for rdata in rdatas:
            rrset.add(rdata, ttl)
        return rrset

    def _add_exchange_addresses(
        self, response: dns.message.Message, rdatas: list[dns.rdata.Rdata]
    ) -> None:
        # Resolvers use these glue-like records to skip a round trip per MX host.
        for rdata in rdatas:
            exchange: dns.name.Name = rdata.exchange  # type: ignore[attr-defined]
            host = normalise_name(exchange.to_text())
            for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                found = self._zones.names.get(host, {}).get(rdtype)
                if found is not None:
                    response.additional.append(self._rrset(exchange, rdtype, *found))

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tcp_writers.add(writer)
        try:
            while True:
                header = await reader.readexactly(2)
                (length,) = struct.unpack("!H", header)
                wire = await reader.readexactly(length)
                try:
                    reply = self.answer(wire, None)
                except Exception:  # one bad query must not stop the server
                    log.exception("sandbox DNS: cannot answer a TCP query")
                    break
                if reply is None:
                    if not _parses(wire):
                        break  # garbage on a stream: the framing can no longer be trusted
                    continue
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._tcp_writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def _parses(wire: bytes) -> bool:
    try:
        dns.message.from_wire(wire)
    except (dns.exception.DNSException, ValueError, struct.error):
        return False
    return True


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self._server = server
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: CPython's selector transport does not subclass
        # DatagramTransport on every version.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        try:
            reply = self._server.answer(data, _UDP_DEFAULT_PAYLOAD)
        except Exception:  # a bug in answering one packet must not stop the server
            log.exception("sandbox DNS: cannot answer a query from %s", addr)
            return
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a client that went away: nothing to do.
        log.debug("sandbox DNS: UDP error %s", exc)
