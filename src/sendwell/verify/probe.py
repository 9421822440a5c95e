"""The optional mailbox probe: ask the domain's MX whether it would accept RCPT TO.

Off by default: probing talks to other people's servers, and some providers treat it as
directory harvesting. The probe opens one SMTP session, says EHLO, ``MAIL FROM`` with the
configured probe sender, ``RCPT TO`` the address and — the first time it sees a domain —
``RCPT TO`` a random local part in the same transaction to detect catch-all servers, then
``QUIT``. No ``DATA`` is ever sent, so no message is delivered.

Courtesy and safety:

* MX hosts whose names end with a suffix in ``skip_mx_suffixes`` (default: Microsoft's
  and Yahoo's, which penalize or defeat probing) are never contacted: ``probe_skipped``;
* probes to one MX host are spaced at least ``min_interval`` seconds apart;
* one attempt only: a greylisting 450/451 is reported as ``greylisted`` (verdict
  ``unknown``), never retried in a loop.

Replies: 250/251 → ``mailbox_ok`` (``catch_all`` instead when a random local part is
accepted too); 550/551/553 → ``mailbox_not_found``; 552 or 452 → ``mailbox_full``; 5.7.x
or 554 → ``probe_refused`` (a policy refusal of the prober says nothing about the
mailbox); other 4xx → ``probe_deferred``; network errors → ``probe_failed``. Every
socket and protocol error is translated here; nothing foreign escapes.

Limits: no STARTTLS (RCPT answers do not need it); catch-all results are kept for the
life of the :class:`Prober`; the rate limit is per process, not shared between workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass

from sendwell.dnsclient import MxHost
from sendwell.verify.records import Finding, Reason

__all__ = ["DEFAULT_SKIP_MX_SUFFIXES", "ProbeConfig", "Prober"]

DEFAULT_SKIP_MX_SUFFIXES: tuple[str, ...] = (
    ".protection.outlook.com",
    ".olc.protection.outlook.com",
    ".mx.microsoft",
    ".hotmail.com",
    ".outlook.com",
    ".yahoodns.net",
)
_MAX_REPLY_LINES = 100
_MAX_LINE = 4096


@dataclass(frozen=True)
class ProbeConfig:
    """How to probe; ``mail_from`` is the envelope sender the MX hosts see."""

    helo_name: str
    mail_from: str
    port: int = 25
    timeout: float = 10.0
    min_interval: float = 1.0
    skip_mx_suffixes: tuple[str, ...] = DEFAULT_SKIP_MX_SUFFIXES
    hosts_to_try: int = 2


class _Broken(Exception):
    """The SMTP conversation broke (network or protocol); internal to this module."""


@dataclass(frozen=True, slots=True)
class _Reply:
    code: int
    text: str


class Prober:
    """Probes mailboxes over SMTP, rate-limited per MX host."""

    def __init__(self, config: ProbeConfig, *, rng: random.Random | None = None) -> None:
        self._config = config
        self._rng = rng or random.Random()
        self._next_slot: dict[str, float] = {}
        self._catch_all: dict[str, bool] = {}
        self.sessions = 0  # SMTP sessions opened, for tests and stats

    async def probe(self, address: str, domain: str, hosts: Sequence[MxHost]) -> Finding:
        """One finding about ``address`` (normalized) whose domain has ``hosts``."""
        suffixes = tuple(s.lower() for s in self._config.skip_mx_suffixes)
        for host in hosts:
            name = host.name.lower()
            if any(name.endswith(s) or name == s.lstrip(".") for s in suffixes):
                return Finding(
                    Reason.PROBE_SKIPPED, f"{host.name} belongs to a provider that penalizes probes"
                )
        if not hosts:
            return Finding(Reason.PROBE_FAILED, "no mail host to probe")
        failure = Finding(Reason.PROBE_FAILED, "no MX host answered")
        for host in hosts[: self._config.hosts_to_try]:
            await self._wait_turn(host.name)
            try:
                async with asyncio.timeout(self._config.timeout):
                    return await self._session(host, address, domain)
            except (_Broken, OSError, EOFError, ValueError) as exc:
                # ValueError: asyncio.StreamReader.readline on an over-long line.
                failure = Finding(Reason.PROBE_FAILED, f"{host.name}: {exc or type(exc).__name__}")
        return failure

    async def _wait_turn(self, host: str) -> None:
        """Space probes to one host ``min_interval`` apart (a real rate limit, per host)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next_slot.get(host, now))
        self._next_slot[host] = slot + self._config.min_interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _session(self, host: MxHost, address: str, domain: str) -> Finding:
        self.sessions += 1
        reader, writer = await asyncio.open_connection(host.addresses[0], self._config.port)
        try:
            return await self._dialogue(reader, writer, host, address, domain)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _dialogue(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        host: MxHost,
        address: str,
        domain: str,
    ) -> Finding:
        where = host.name
        greeting = await _read_reply(reader)
        if greeting.code != 220:
            return _refusal(where, "greeting", greeting)
        reply = await _command(reader, writer, f"EHLO {self._config.helo_name}")
        extensions = reply.text.upper().split("\n") if reply.code == 250 else []
        if reply.code != 250:
            reply = await _command(reader, writer, f"HELO {self._config.helo_name}")
            if reply.code != 250:
                return _refusal(where, "HELO", reply)
        utf8 = not address.isascii()
        if utf8 and not any(line.startswith("SMTPUTF8") for line in extensions):
            await _quit(reader, writer)
            return Finding(Reason.PROBE_SKIPPED, f"{where} does not support SMTPUTF8")
        mail = f"MAIL FROM:<{self._config.mail_from}>" + (" SMTPUTF8" if utf8 else "")
        reply = await _command(reader, writer, mail)
        if reply.code != 250:
            return _refusal(where, "MAIL FROM", reply)
        reply = await _command(reader, writer, f"RCPT TO:<{address}>")
        finding = _classify(where, reply)
        if finding.code == Reason.MAILBOX_OK:
            catch_all = self._catch_all.get(domain)
            if catch_all is None:
                random_local = "".join(
                    self._rng.choices(string.ascii_lowercase + string.digits, k=24)
                )
                other = await _command(reader, writer, f"RCPT TO:<{random_local}@{domain}>")
                catch_all = other.code in (250, 251)
                self._catch_all[domain] = catch_all
            if catch_all:
                finding = Finding(
                    Reason.CATCH_ALL, f"{where} accepts any local part at {domain} (catch-all)"
                )
        await _quit(reader, writer)
        return finding


def _classify(where: str, reply: _Reply) -> Finding:
    said = f"{where} said {reply.code} {reply.text.splitlines()[0] if reply.text else ''}"
    enhanced = reply.text.split(" ", 1)[0] if reply.text else ""
    if reply.code in (250, 251):
        return Finding(Reason.MAILBOX_OK, said)
    if reply.code == 552 or reply.code == 452 or enhanced.endswith(".2.2"):
        return Finding(Reason.MAILBOX_FULL, said)
    if reply.code in (450, 451):
        return Finding(Reason.GREYLISTED, said)
    if 400 <= reply.code < 500:
        return Finding(Reason.PROBE_DEFERRED, said)
    if enhanced.startswith("5.7.") or reply.code == 554:
        return Finding(Reason.PROBE_REFUSED, said)
    if reply.code in (550, 551, 553):
        return Finding(Reason.MAILBOX_NOT_FOUND, said)
    return Finding(Reason.PROBE_REFUSED, said)


def _refusal(where: str, step: str, reply: _Reply) -> Finding:
    code = Reason.PROBE_DEFERRED if 400 <= reply.code < 500 else Reason.PROBE_REFUSED
    return Finding(code, f"{where} refused {step}: {reply.code} {reply.text[:200]}")


async def _command(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: str) -> _Reply:
    writer.write(line.encode("utf-8") + b"\r\n")
    await writer.drain()
    return await _read_reply(reader)


async def _quit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # The answer is already known; a server hanging up before 221 is fine.
    with contextlib.suppress(_Broken, OSError, EOFError):
        await _command(reader, writer, "QUIT")


async def _read_reply(reader: asyncio.StreamReader) -> _Reply:
    lines: list[str] = []
    code = 0
    for _ in range(_MAX_REPLY_LINES):
        raw = await reader.readline()
        if not raw:
            raise _Broken("connection closed")
        if len(raw) > _MAX_LINE:
            raise _Broken("reply line too long")
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        if len(text) < 3 or not text[:3].isdigit():
            raise _Broken(f"malformed reply {text[:80]!r}")
        code = int(text[:3])
        lines.append(text[4:])
        if text[3:4] != "-":
            return _Reply(code, "\n".join(lines))
    raise _Broken("reply too long")
