"""Provider profiles: how each simulated mailbox provider behaves, and the TOML that says so.

A :class:`ProviderProfile` names a provider ("gmail"), the recipient domains it hosts, its
MX hosts on loopback addresses, and optional behaviours (unknown and full mailboxes,
greylisting, rate and connection limits, slow replies, dropped connections) with the reply
texts the provider really sends. :func:`load_world` reads a whole world file:

.. code-block:: toml

    [[provider]]
    name = "gmail"
    domains = ["gmail.sandbox"]
    mx = [{ preference = 5, host = "mx1.gmail.sandbox", ip = "127.0.1.1" }]
    unknown_mailbox = "^(nobody|unknown)"   # regex searched in the local part
    mailbox_full = "^full"
    greylist_seconds = 2
    slow_ms = 0
    drop = "^flaky"                          # drop the connection during DATA ...
    drop_times = 1                           # ... on the first N attempts per recipient
    accept_domains = ["aonly.sandbox"]       # also accepted, though no MX points here
    rate_limit = { messages_per_minute = 100000, max_connections = 500 }
    reply_texts = { rate_limited = "421 4.7.0 slow down" }

    [[dns.record]]
    name = "aonly.sandbox"
    type = "A"
    value = "127.0.9.1"

    [dns.faults]
    "servfail.sandbox" = "servfail"

Errors name the file and the key (``default.toml: provider[2].rate_limit.max_connections:
expected an integer``) and are raised as :class:`~sendwell.errors.SandboxError`.

Limits: IP addresses must be IPv4 or IPv6 loopback addresses; the sandbox never listens
elsewhere. Reply texts are full SMTP replies (code first); multi-line texts use one line
per reply line and get their ``-``/space separators fixed up.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

from sendwell.errors import SandboxError
from sendwell.sandbox.dns import FAULTS, RECORD_TYPES, DnsRecord, normalise_name

__all__ = [
    "MxHost",
    "ProviderProfile",
    "RateLimit",
    "ReplyTexts",
    "WorldFile",
    "format_reply",
    "load_world",
]


class MxHost(NamedTuple):
    """One MX host of a provider: a plain (preference, hostname, ip) tuple with names."""

    preference: int
    hostname: str
    ip: str


@dataclass(frozen=True)
class RateLimit:
    """Limits per provider; None means unlimited.

    ``messages_per_minute`` counts messages accepted from one peer IP in the trailing 60 s;
    ``max_connections`` counts sessions open at the provider across all its MX hosts.
    """

    messages_per_minute: int | None = None
    max_connections: int | None = None


@dataclass(frozen=True)
class ReplyTexts:
    """Full SMTP replies; ``{rcpt}``, ``{peer}`` and ``{mx}`` are filled in when present."""

    unknown_mailbox: str = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown"
    mailbox_full: str = "452 4.2.2 <{rcpt}>: Mailbox full, try again later"
    greylisted: str = "451 4.7.1 <{rcpt}>: Greylisted, please try again later"
    rate_limited: str = (
        "421 4.7.0 Too many messages from {peer}, rate limited; please try again later"
    )
    too_many_connections: str = (
        "421 4.7.0 Too many concurrent SMTP connections from this IP address; "
        "please try again later"
    )
    accepted: str = "250 2.0.0 OK: queued"


@dataclass(frozen=True)
class ProviderProfile:
    """One simulated mailbox provider. Regexes are searched in the recipient's local part."""

    name: str
    domains: tuple[str, ...]
    mx_hosts: tuple[MxHost, ...]
    unknown_mailbox: str | None = None
    mailbox_full: str | None = None
    greylist_seconds: int | None = None
    rate_limit: RateLimit = field(default_factory=RateLimit)
    slow_ms: int = 0
    drop: str | None = None
    drop_times: int = 1
    reply_texts: ReplyTexts = field(default_factory=ReplyTexts)
    # Domains accepted without MX records pointing here, e.g. reached by the A-record
    # fallback; any other domain is refused as relaying.
    accept_domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorldFile:
    """Everything a world file declares."""

    providers: tuple[ProviderProfile, ...]
    dns_records: tuple[DnsRecord, ...]
    dns_faults: Mapping[str, str]


def format_reply(text: str, **values: str) -> str:
    """A reply ready to send: placeholders filled, lines joined with CRLF and the
    continuation separators (``550-`` on all lines but the last, ``550 `` on it) fixed."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    out = []
    for index, line in enumerate(lines):
        code, rest = line[:3], line[4:] if len(line) > 3 else ""
        separator = " " if index == len(lines) - 1 else "-"
        out.append(f"{code}{separator}{rest}")
    return "\r\n".join(out)


_REPLY = re.compile(r"^[2-5]\d\d([ -]|$)")


class _Table:
    """A TOML table plus where it came from, so every error can name file and key."""

    def __init__(self, data: Mapping[str, Any], file: Path, where: str) -> None:
        self.data = data
        self.file = file
        self.where = where

    def error(self, key: str, problem: str) -> SandboxError:
        path = f"{self.where}.{key}" if self.where else key
        return SandboxError(f"{self.file}: {path}: {problem}")

    def check_keys(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.error(key, f"unknown key (expected one of {', '.join(sorted(allowed))})")

    def get(self, key: str, kind: type, default: Any = None, *, required: bool = False) -> Any:
        if key not in self.data:
            if required:
                raise self.error(key, "missing")
            return default
        value = self.data[key]
        # bool is an int in Python; a TOML `true` where a number belongs is a mistake.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(key, f"expected {_KIND_NAMES.get(kind, kind.__name__)}")
        return value

    def text_list(self, key: str, *, required: bool = True) -> tuple[str, ...]:
        value = self.get(key, list, [], required=required)
        if (required and not value) or not all(isinstance(item, str) and item for item in value):
            raise self.error(key, "expected a non-empty list of strings")
        return tuple(value)

    def regex(self, key: str) -> str | None:
        pattern: str | None = self.get(key, str)
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                raise self.error(key, f"bad regular expression: {error}") from error
        return pattern

    def count(self, key: str, default: int | None, minimum: int = 0) -> int | None:
        value: int | None = self.get(key, int, default)
        if value is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}")
        return value

    def table(self, key: str) -> _Table:
        value = self.get(key, dict, {})
        return _Table(value, self.file, f"{self.where}.{key}" if self.where else key)


_KIND_NAMES = {int: "an integer", str: "a string", list: "a list", dict: "a table"}


def _loopback(table: _Table, key: str, ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError as error:
        raise table.error(key, f"not an IP address: {ip!r}") from error
    if not address.is_loopback:
        raise table.error(key, f"{ip} is not a loopback address; the sandbox stays on loopback")
    return ip


def _mx_host(table: _Table) -> MxHost:
    table.check_keys({"preference", "host", "ip"})
    preference = table.count("preference", 10)
    host = normalise_name(table.get("host", str, required=True))
    ip = _loopback(table, "ip", table.get("ip", str, required=True))
    return MxHost(preference if preference is not None else 10, host, ip)


def _reply_texts(table: _Table) -> ReplyTexts:
    names = {f.name for f in fields(ReplyTexts)}
    table.check_keys(names)
    overrides: dict[str, str] = {}
    for key in table.data:
        text: str = table.get(key, str)
        if not all(_REPLY.match(line) for line in text.strip().splitlines() if line.strip()):
            raise table.error(key, "every line must start with an SMTP reply code, e.g. '550 '")
        overrides[key] = text
    return ReplyTexts(**overrides)


_PROVIDER_KEYS = {
    "name",
    "domains",
    "mx",
    "unknown_mailbox",
    "mailbox_full",
    "greylist_seconds",
    "rate_limit",
    "slow_ms",
    "drop",
    "drop_times",
    "reply_texts",
    "accept_domains",
}


def _provider(table: _Table) -> ProviderProfile:
    table.check_keys(_PROVIDER_KEYS)
    name: str = table.get("name", str, required=True)
    mx_list: list[Any] = table.get("mx", list, required=True)
    if not mx_list:
        raise table.error("mx", "expected at least one MX host")
    mx_hosts = []
    for index, item in enumerate(mx_list):
        if not isinstance(item, dict):
            raise table.error(f"mx[{index}]", "expected a table {preference, host, ip}")
        mx_hosts.append(_mx_host(_Table(item, table.file, f"{table.where}.mx[{index}]")))
    limits = table.table("rate_limit")
    limits.check_keys({"messages_per_minute", "max_connections"})
    return ProviderProfile(
        name=name,
        domains=tuple(normalise_name(d) for d in table.text_list("domains")),
        mx_hosts=tuple(mx_hosts),
        unknown_mailbox=table.regex("unknown_mailbox"),
        mailbox_full=table.regex("mailbox_full"),
        greylist_seconds=table.count("greylist_seconds", None),
        rate_limit=RateLimit(
            messages_per_minute=limits.count("messages_per_minute", None, 1),
            max_connections=limits.count("max_connections", None, 1),
        ),
        slow_ms=table.count("slow_ms", 0) or 0,
        drop=table.regex("drop"),
        drop_times=table.count("drop_times", 1) or 0,
        reply_texts=_reply_texts(table.table("reply_texts")),
        accept_domains=tuple(
            normalise_name(d) for d in table.text_list("accept_domains", required=False)
        ),
    )


def _dns(table: _Table) -> tuple[tuple[DnsRecord, ...], dict[str, str]]:
    table.check_keys({"record", "faults"})
    records = []
    for index, item in enumerate(table.get("record", list, [])):
        if not isinstance(item, dict):
            raise table.error(f"record[{index}]", "expected a table {name, type, value, ttl}")
        entry = _Table(item, table.file, f"{table.where}.record[{index}]")
        entry.check_keys({"name", "type", "value", "ttl"})
        rtype: str = entry.get("type", str, required=True)
        if rtype.upper() not in RECORD_TYPES:
            raise entry.error("type", f"expected one of {', '.join(sorted(RECORD_TYPES))}")
        record = DnsRecord(
            name=entry.get("name", str, required=True),
            rtype=rtype.upper(),
            value=entry.get("value", str, required=True),
            ttl=entry.count("ttl", 300) or 0,
        )
        try:
            record.to_rdata()
        except SandboxError as error:
            raise entry.error("value", str(error)) from error
        records.append(record)
    faults_table = table.table("faults")
    faults: dict[str, str] = {}
    for name in faults_table.data:
        fault: str = faults_table.get(name, str)
        if fault not in FAULTS:
            raise faults_table.error(name, f"expected one of {', '.join(sorted(FAULTS))}")
        faults[normalise_name(name)] = fault
    return tuple(records), faults


def load_world(path: Path, text: str | None = None) -> WorldFile:
    """Parse a world file; ``text`` (when given) is used instead of reading ``path``."""
    try:
        source = path.read_text(encoding="utf-8") if text is None else text
    except OSError as error:
        raise SandboxError(f"{path}: cannot read: {error.strerror or error}") from error
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise SandboxError(f"{path}: not valid TOML: {error}") from error
    root = _Table(data, path, "")
    root.check_keys({"provider", "dns"})
    providers = []
    for index, item in enumerate(root.get("provider", list, [])):
        if not isinstance(item, dict):
            raise root.error(f"provider[{index}]", "expected a table")
        providers.append(_provider(_Table(item, path, f"provider[{index}]")))
    records, faults = _dns(root.table("dns"))
    _check_unique(path, providers)
    return WorldFile(tuple(providers), records, faults)


def _check_unique(path: Path, providers: list[ProviderProfile]) -> None:
    seen_names: set[str] = set()
    seen_domains: dict[str, str] = {}
    seen_ips: dict[str, str] = {}
    for index, provider in enumerate(providers):
        where = f"{path}: provider[{index}]"
        if provider.name in seen_names:
            raise SandboxError(f"{where}.name: provider {provider.name!r} is declared twice")
        seen_names.add(provider.name)
        for domain in provider.domains:
            if domain in seen_domains:
                raise SandboxError(
                    f"{where}.domains: {domain} is already hosted by {seen_domains[domain]}"
                )
            seen_domains[domain] = provider.name
        for host in provider.mx_hosts:
            owner = seen_ips.get(host.ip)
            if owner is not None and owner != host.hostname:
                raise SandboxError(
                    f"{where}.mx: {host.ip} is already used by {owner}; "
                    "each MX host needs its own address (they share one port)"
                )
            seen_ips[host.ip] = host.hostname
