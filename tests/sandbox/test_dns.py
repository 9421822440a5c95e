"""The sandbox DNS server answered through dnspython, as the delivery engine will ask it."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from sendwell.errors import SandboxError
from sendwell.sandbox.dns import DnsRecord, DnsServer

LONG_TEXT = "v=DKIM1; k=rsa; p=" + "A" * 600

RECORDS = [
    DnsRecord("gmail.sandbox", "MX", "10 mx1.gmail.sandbox.", ttl=120),
    DnsRecord("gmail.sandbox", "MX", "20 mx2.gmail.sandbox"),
    DnsRecord("mx1.gmail.sandbox", "A", "127.0.1.1"),
    DnsRecord("MX2.Gmail.Sandbox.", "A", "127.0.1.2"),
    DnsRecord("gmail.sandbox", "TXT", "v=spf1 -all"),
    DnsRecord("sel._domainkey.gmail.sandbox", "TXT", LONG_TEXT),
    DnsRecord("nullmx.sandbox", "MX", "0 ."),
    DnsRecord("aonly.sandbox", "A", "127.0.5.1"),
    DnsRecord("v6.sandbox", "AAAA", "::1"),
]


def run(body: Callable[[DnsServer], Awaitable[None]], **faults: str) -> None:
    async def main() -> None:
        fault_map = {name.replace("_", "."): fault for name, fault in faults.items()}
        async with DnsServer(RECORDS, faults=fault_map) as server:
            await body(server)

    asyncio.run(main())


async def ask(
    server: DnsServer, name: str, rtype: str, *, tcp: bool = False
) -> dns.message.Message:
    query = dns.message.make_query(name, rtype)
    host, port = server.address
    if tcp:
        return await dns.asyncquery.tcp(query, host, port=port, timeout=2)
    return await dns.asyncquery.udp(query, host, port=port, timeout=2)


def test_mx_answer_is_authoritative_with_addresses_in_additional() -> None:
    async def body(server: DnsServer) -> None:
        reply = await ask(server, "GMAIL.sandbox.", "MX")
        assert reply.rcode() == dns.rcode.NOERROR
        assert reply.flags & dns.flags.AA
        (answer,) = reply.answer
        assert answer.ttl == 120
        # DNS names compare case-insensitively; compression may borrow the question's case.
        assert sorted((r.preference, r.exchange.to_text().lower()) for r in answer) == [
            (10, "mx1.gmail.sandbox."),
            (20, "mx2.gmail.sandbox."),
        ]
        extra = {
            rrset.name.to_text().lower(): [r.address for r in rrset] for rrset in reply.additional
        }
        assert extra == {"mx1.gmail.sandbox.": ["127.0.1.1"], "mx2.gmail.sandbox.": ["127.0.1.2"]}

    run(body)


def test_a_aaaa_and_txt() -> None:
    async def body(server: DnsServer) -> None:
        a = await ask(server, "aonly.sandbox", "A")
        assert [r.address for r in a.answer[0]] == ["127.0.5.1"]
        aaaa = await ask(server, "v6.sandbox", "AAAA")
        assert [r.address for r in aaaa.answer[0]] == ["::1"]
        txt = await ask(server, "gmail.sandbox", "TXT")
        assert [b"".join(r.strings) for r in txt.answer[0]] == [b"v=spf1 -all"]

    run(body)


def test_long_txt_is_split_into_255_byte_strings() -> None:
    async def body(server: DnsServer) -> None:
        reply = await ask(server, "sel._domainkey.gmail.sandbox", "TXT", tcp=True)
        (rdata,) = reply.answer[0]
        assert [len(s) for s in rdata.strings] == [255, 255, len(LONG_TEXT) - 510]
        assert b"".join(rdata.strings).decode() == LONG_TEXT

    run(body)


def test_big_udp_answer_is_truncated_so_the_client_retries_over_tcp() -> None:
    async def body(server: DnsServer) -> None:
        reply = await ask(server, "sel._domainkey.gmail.sandbox", "TXT")
        assert reply.flags & dns.flags.TC

    run(body)


def test_null_mx() -> None:
    async def body(server: DnsServer) -> None:
        reply = await ask(server, "nullmx.sandbox", "MX")
        (rdata,) = reply.answer[0]
        assert (rdata.preference, rdata.exchange.to_text()) == (0, ".")

    run(body)


def test_nxdomain_nodata_and_refused() -> None:
    async def body(server: DnsServer) -> None:
        missing = await ask(server, "nosuch.gmail.sandbox", "A")
        assert missing.rcode() == dns.rcode.NXDOMAIN
        assert missing.authority[0].rdtype == dns.rdatatype.SOA
        unregistered = await ask(server, "never-registered.sandbox", "MX")
        assert unregistered.rcode() == dns.rcode.NXDOMAIN
        nodata = await ask(server, "aonly.sandbox", "MX")
        assert nodata.rcode() == dns.rcode.NOERROR
        assert nodata.answer == []
        assert nodata.flags & dns.flags.AA
        outside = await ask(server, "example.com", "MX")
        assert outside.rcode() == dns.rcode.REFUSED

    run(body)


def test_servfail_and_timeout_faults() -> None:
    async def body(server: DnsServer) -> None:
        failing = await ask(server, "servfail.sandbox", "MX")
        assert failing.rcode() == dns.rcode.SERVFAIL
        query = dns.message.make_query("timeout.sandbox", "MX")
        host, port = server.address
        with pytest.raises(dns.exception.Timeout):
            await dns.asyncquery.udp(query, host, port=port, timeout=0.3)
        server.set_fault("timeout.sandbox", None)
        cleared = await ask(server, "timeout.sandbox", "MX")
        assert cleared.rcode() == dns.rcode.NXDOMAIN  # inside the served "sandbox" TLD

    run(body, servfail_sandbox="servfail", timeout_sandbox="timeout")


def test_tcp_and_records_added_while_running() -> None:
    async def body(server: DnsServer) -> None:
        server.add(DnsRecord("late.sandbox", "MX", "10 mx.late.sandbox."))
        reply = await ask(server, "late.sandbox", "MX", tcp=True)
        assert reply.answer[0][0].exchange.to_text() == "mx.late.sandbox."

    run(body)


def test_malformed_packets_do_not_stop_the_server() -> None:
    async def body(server: DnsServer) -> None:
        host, port = server.address
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(b"\x00\x01garbage", (host, port))
            udp.sendto(b"", (host, port))
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(struct.pack("!H", 5) + b"junk!")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 2) == b""  # server closed it
        writer.close()
        await writer.wait_closed()
        for tcp in (False, True):
            reply = await ask(server, "gmail.sandbox", "MX", tcp=tcp)
            assert reply.rcode() == dns.rcode.NOERROR

    run(body)


def test_port_in_use_is_a_sandbox_error() -> None:
    async def main() -> None:
        async with DnsServer(RECORDS) as first:
            _, port = first.address
            with pytest.raises(SandboxError, match=rf"cannot listen on 127\.0\.0\.1:{port}"):
                await DnsServer(RECORDS, port=port).start()

    asyncio.run(main())


def test_bad_record_values_are_refused() -> None:
    with pytest.raises(SandboxError, match="unsupported type"):
        DnsRecord("x.sandbox", "CNAME", "y.sandbox.")
    with pytest.raises(SandboxError, match="bad value"):
        DnsServer([DnsRecord("x.sandbox", "A", "not-an-ip")])
    with pytest.raises(SandboxError, match="unknown fault"):
        DnsServer([], faults={"x.sandbox": "explode"})
