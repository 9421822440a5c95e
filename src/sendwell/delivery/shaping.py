"""Traffic shaping: how fast, and over how many connections, to send to each destination.

The shaping file (TOML, documented in ``docs/shaping.md``; the shipped one is
``delivery/shaping.toml``) declares:

* ``[default]`` — limits for every site: ``connection_limit``, ``max_message_rate``,
  ``max_connection_rate``, ``max_deliveries_per_connection``, ``tls``. Shipped values are
  the field's conservative rules of thumb for a sender that has not warmed up: 100
  messages per hour and 10 connections to any one destination network.
* ``[source_default] max_message_rate`` — per sending IP across all sites (400/10min).
* ``[[provider]]`` blocks matched by MX host suffix (``match = [".google.com"]``): their
  limits override the defaults for every site whose MX hosts match, and their
  ``[[provider.automation]]`` rules react to that provider's replies.
* ``[[automation]]`` — rules for every site.
* ``[[source]]`` — sending IPs: ``name``, ``address`` (local address to bind), ``pool``,
  ``weight``, optional ``warmup`` schedule name, ``max_message_rate``, per-provider
  ``[source.overrides.<provider>]`` limits, and ``relays`` (names of ``[[relay]]``
  blocks, in failover order) to hand all mail to a smarthost instead of recipients' MX.
* ``[[relay]]`` — smarthosts: ``name``, ``host``, ``port``, ``tls``, ``username``,
  ``password_env`` (the environment variable holding the password), and the relay's
  quota as ``max_message_rate`` / ``connection_limit``.
* ``[warmup.<name>]`` ``days = [{ day = 1, max_message_rate = "...",
  source_max_message_rate = "..." }, ...]`` — limits for a warming source on the Nth day
  it actually sends (days without sending do not count); after the last day the source
  keeps the last day's limits.

A *site* is a set of MX hosts; limits apply per (source, site).
"""

from __future__ import annotations

import os
import random
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from sendwell.delivery.rates import Rate, parse_duration, parse_rate
from sendwell.delivery.tomlpos import Path as TomlPath
from sendwell.delivery.tomlpos import key_lines
from sendwell.errors import ConfigError

TlsPolicy = Literal["opportunistic", "required", "off"]
ActionKind = Literal["suspend", "throttle", "connections", "suspend_source"]
TLS_POLICIES = ("opportunistic", "required", "off")
ACTIONS = ("suspend", "throttle", "connections", "suspend_source")
LIMIT_KEYS = ("connection_limit", "max_message_rate", "max_connection_rate",
              "max_deliveries_per_connection", "tls")  # fmt: skip


@dataclass(frozen=True)
class Limits:
    """Shaping values; ``None`` means "not set here" when layering."""

    connection_limit: int | None = None
    max_message_rate: Rate | None = None
    max_connection_rate: Rate | None = None
    max_deliveries_per_connection: int | None = None
    tls: TlsPolicy | None = None

    def over(self, base: Limits) -> Limits:
        """These values where set, ``base`` elsewhere."""
        return Limits(**{k: getattr(self, k) if getattr(self, k) is not None
                         else getattr(base, k) for k in LIMIT_KEYS})  # fmt: skip


@dataclass(frozen=True)
class AutomationRule:
    """When a reply matches ``regex``: do ``action`` for ``duration`` seconds.

    ``threshold`` (count, period) makes the rule fire only after that many matches within
    the period. After a ``suspend`` ends, ``then_connection_limit`` caps connections and
    ``ramp_every`` adds one connection back per interval until the normal limit.
    """

    regex: re.Pattern[str]
    action: ActionKind
    duration: float
    max_message_rate: Rate | None = None
    connection_limit: int | None = None
    then_connection_limit: int | None = None
    ramp_every: float | None = None
    threshold: Rate | None = None
    provider: str = "*"


@dataclass(frozen=True)
class ProviderBlock:
    name: str
    match: tuple[str, ...]
    limits: Limits
    automation: tuple[AutomationRule, ...] = ()

    def matches(self, mx_hosts: Sequence[str]) -> bool:
        return any(host.lower().rstrip(".").endswith(suffix) for host in mx_hosts
                   for suffix in self.match)  # fmt: skip


@dataclass(frozen=True)
class WarmupDay:
    day: int
    max_message_rate: Rate | None
    source_max_message_rate: Rate | None
    connection_limit: int | None


@dataclass(frozen=True)
class Relay:
    """A smarthost that accepts all of a source's mail (an ESP, a corporate relay).

    The password is never in the shaping file: ``password_env`` names the environment
    variable holding it. ``limits`` carry the relay's quota (``max_message_rate``) and
    connection cap; TLS defaults to required, since credentials cross the wire.
    """

    name: str
    host: str
    port: int = 587
    tls: TlsPolicy = "required"
    username: str | None = None
    password_env: str | None = None
    limits: Limits = field(default_factory=Limits)

    def password(self) -> str:
        return os.environ.get(self.password_env, "") if self.password_env else ""


@dataclass(frozen=True)
class Source:
    """A sending IP (or the OS default address when ``address`` is None).

    A source with ``relays`` hands every message to the first relay that answers (the
    others are the failover order) instead of delivering to recipients' MX hosts.
    """

    name: str
    address: str | None = None
    pool: str = "default"
    weight: float = 1.0
    warmup: str | None = None
    max_message_rate: Rate | None = None
    overrides: Mapping[str, Limits] = field(default_factory=dict)
    relays: tuple[str, ...] = ()


@dataclass(frozen=True)
class SiteLimits:
    """Everything the engine needs for one (source, site)."""

    provider: str
    limits: Limits  # complete: every field set
    source_rate: Rate | None
    automation: tuple[AutomationRule, ...]


@dataclass(frozen=True)
class Shaping:
    default: Limits
    source_rate: Rate | None
    providers: tuple[ProviderBlock, ...]
    automation: tuple[AutomationRule, ...]
    sources: tuple[Source, ...]
    warmups: Mapping[str, tuple[WarmupDay, ...]]
    origin: str = "<built-in>"
    relays: Mapping[str, Relay] = field(default_factory=dict)

    def relay_limits(self, source: Source) -> SiteLimits:
        """Limits for a source's relay route: the first relay's quota and connections."""
        relay = self.relays[source.relays[0]]
        base = Limits(connection_limit=10, max_deliveries_per_connection=100, tls=relay.tls)
        return SiteLimits(
            provider=f"relay:{relay.name}",
            limits=relay.limits.over(base),
            source_rate=source.max_message_rate,
            automation=self.automation,
        )

    def provider_for(self, mx_hosts: Sequence[str]) -> ProviderBlock | None:
        for block in self.providers:
            if block.matches(mx_hosts):
                return block
        return None

    def pool(self, name: str) -> tuple[Source, ...]:
        sources = tuple(s for s in self.sources if s.pool == name)
        if not sources:
            raise ConfigError(f"{self.origin}: no source in pool {name!r}")
        return sources

    def choose(self, pool: str, rng: random.Random) -> Source:
        """A source of ``pool``, at random in proportion to the sources' weights."""
        sources = self.pool(pool)
        if len(sources) == 1:
            return sources[0]
        return rng.choices(sources, weights=[s.weight for s in sources])[0]

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"{self.origin}: no source named {name!r}")

    def site_limits(
        self, mx_hosts: Sequence[str], source: Source, warmup_day: int | None = None
    ) -> SiteLimits:
        """Layer default ← provider ← source override ← warm-up day."""
        block = self.provider_for(mx_hosts)
        limits = self.default
        name = "default"
        rules = self.automation
        if block is not None:
            limits = block.limits.over(limits)
            name = block.name
            rules = block.automation + rules
        for key in (name, "*"):
            if key in source.overrides:
                limits = source.overrides[key].over(limits)
        source_rate = source.max_message_rate or self.source_rate
        schedule = self.warmups.get(source.warmup or "", ())
        if schedule:
            # Day 1 is the first day the source sends; past the last day it keeps the
            # final plateau (it is warm now).
            day = max(warmup_day or 1, 1)
            step = next((d for d in schedule if d.day >= day), schedule[-1])
            limits = replace(
                limits,
                max_message_rate=step.max_message_rate or limits.max_message_rate,
                connection_limit=step.connection_limit or limits.connection_limit,
            )
            source_rate = step.source_max_message_rate or source_rate
        return SiteLimits(provider=name, limits=limits, source_rate=source_rate, automation=rules)


# -- loading ------------------------------------------------------------------------------


def shipped_shaping_path() -> Path:
    return Path(str(resources.files("sendwell.delivery") / "shaping.toml"))


class _Reader:
    """Validates values and reports errors as ``file:line: key: reason``."""

    def __init__(self, origin: str, text: str) -> None:
        self.origin = origin
        self.lines = key_lines(text)

    def fail(self, path: TomlPath, key: str, reason: str) -> ConfigError:
        line = self.lines.get((path, key))
        where = f"{self.origin}:{line}" if line else self.origin
        dotted = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path)
        name = f"{dotted}.{key}".lstrip(".").replace(".[", "[")
        return ConfigError(f"{where}: {name}: {reason}")

    def check_keys(self, table: Mapping[str, Any], path: TomlPath, allowed: Sequence[str]) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(path, key, f"unknown key (allowed: {', '.join(allowed)})")

    def rate(self, table: Mapping[str, Any], path: TomlPath, key: str) -> Rate | None:
        if key not in table:
            return None
        try:
            return parse_rate(table[key])
        except ValueError as exc:
            raise self.fail(path, key, str(exc)) from None

    def duration(
        self, table: Mapping[str, Any], path: TomlPath, key: str, required: bool = False
    ) -> float | None:
        if key not in table:
            if required:
                raise self.fail(path, key, "is required")
            return None
        try:
            return parse_duration(table[key])
        except ValueError as exc:
            raise self.fail(path, key, str(exc)) from None

    def integer(self, table: Mapping[str, Any], path: TomlPath, key: str) -> int | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise self.fail(path, key, f"{value!r} is not a positive whole number")
        return value

    def text(
        self, table: Mapping[str, Any], path: TomlPath, key: str, required: bool = False
    ) -> str | None:
        if key not in table:
            if required:
                raise self.fail(path, key, "is required")
            return None
        if not isinstance(table[key], str) or not table[key]:
            raise self.fail(path, key, f"{table[key]!r} is not a non-empty string")
        return str(table[key])

    def limits(self, table: Mapping[str, Any], path: TomlPath) -> Limits:
        tls = self.text(table, path, "tls")
        if tls is not None and tls not in TLS_POLICIES:
            raise self.fail(path, "tls", f"must be one of {', '.join(TLS_POLICIES)}")
        return Limits(
            connection_limit=self.integer(table, path, "connection_limit"),
            max_message_rate=self.rate(table, path, "max_message_rate"),
            max_connection_rate=self.rate(table, path, "max_connection_rate"),
            max_deliveries_per_connection=self.integer(
                table, path, "max_deliveries_per_connection"
            ),
            tls=cast(TlsPolicy | None, tls),
        )

    def rule(self, table: Mapping[str, Any], path: TomlPath, provider: str) -> AutomationRule:
        self.check_keys(table, path, ("regex", "action", "duration", "max_message_rate",
                                      "connection_limit", "then_connection_limit",
                                      "ramp_every", "threshold"))  # fmt: skip
        pattern = self.text(table, path, "regex", required=True)
        try:
            regex = re.compile(cast(str, pattern), re.IGNORECASE)
        except re.error as exc:
            raise self.fail(path, "regex", f"invalid regular expression: {exc}") from None
        action = self.text(table, path, "action", required=True)
        if action not in ACTIONS:
            raise self.fail(path, "action", f"must be one of {', '.join(ACTIONS)}")
        rule = AutomationRule(
            regex=regex,
            action=cast(ActionKind, action),
            duration=cast(float, self.duration(table, path, "duration", required=True)),
            max_message_rate=self.rate(table, path, "max_message_rate"),
            connection_limit=self.integer(table, path, "connection_limit"),
            then_connection_limit=self.integer(table, path, "then_connection_limit"),
            ramp_every=self.duration(table, path, "ramp_every"),
            threshold=self.rate(table, path, "threshold"),
            provider=provider,
        )
        if rule.action == "throttle" and rule.max_message_rate is None:
            raise self.fail(path, "max_message_rate", "a throttle rule needs a rate")
        if rule.action == "connections" and rule.connection_limit is None:
            raise self.fail(path, "connection_limit", "a connections rule needs a limit")
        return rule


def load_shaping(path: Path | None = None) -> Shaping:
    """Read and validate a shaping file (the shipped one when ``path`` is None)."""
    path = path or shipped_shaping_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"shaping file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read shaping file {path}: {exc}") from None
    return parse_shaping(text, str(path))


def parse_shaping(text: str, origin: str) -> Shaping:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: malformed TOML: {exc}") from None
    r = _Reader(origin, text)
    r.check_keys(data, (), ("default", "source_default", "provider", "automation", "source",
                            "warmup", "relay"))  # fmt: skip
    default_table = data.get("default", {})
    r.check_keys(default_table, ("default",), LIMIT_KEYS)
    default = r.limits(default_table, ("default",)).over(
        Limits(10, parse_rate("100/h"), parse_rate("100/min"), 100, "opportunistic")
    )
    source_default = data.get("source_default", {})
    r.check_keys(source_default, ("source_default",), ("max_message_rate",))
    source_rate = r.rate(source_default, ("source_default",), "max_message_rate")

    providers = []
    for i, block in enumerate(data.get("provider", [])):
        p: TomlPath = ("provider", i)
        r.check_keys(block, p, ("name", "match", "automation", *LIMIT_KEYS))
        name = cast(str, r.text(block, p, "name", required=True))
        match = block.get("match")
        if not isinstance(match, list) or not match or not all(isinstance(m, str) for m in match):
            raise r.fail(p, "match", "must be a list of MX host suffixes like '.google.com'")
        rules = tuple(r.rule(rt, (*p, "automation", j), name)
                      for j, rt in enumerate(block.get("automation", [])))  # fmt: skip
        providers.append(ProviderBlock(name, tuple(m.lower() for m in match),
                                       r.limits(block, p), rules))  # fmt: skip
    general = tuple(r.rule(rt, ("automation", j), "*")
                    for j, rt in enumerate(data.get("automation", [])))  # fmt: skip

    warmups: dict[str, tuple[WarmupDay, ...]] = {}
    for name, table in data.get("warmup", {}).items():
        days = []
        for j, day in enumerate(table.get("days", [])):
            p = ("warmup", name, "days", j)
            r.check_keys(day, p, ("day", "max_message_rate", "source_max_message_rate",
                                  "connection_limit"))  # fmt: skip
            days.append(
                WarmupDay(
                    day=cast(int, r.integer(day, p, "day")) if "day" in day else j + 1,
                    max_message_rate=r.rate(day, p, "max_message_rate"),
                    source_max_message_rate=r.rate(day, p, "source_max_message_rate"),
                    connection_limit=r.integer(day, p, "connection_limit"),
                )
            )
        warmups[name] = tuple(sorted(days, key=lambda d: d.day))

    relays: dict[str, Relay] = {}
    for i, table in enumerate(data.get("relay", [])):
        p = ("relay", i)
        r.check_keys(table, p, ("name", "host", "port", "tls", "username", "password_env",
                                "connection_limit", "max_message_rate",
                                "max_deliveries_per_connection"))  # fmt: skip
        port = table.get("port", 587)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise r.fail(p, "port", f"{port!r} is not a port number")
        password_env = r.text(table, p, "password_env")
        if password_env and password_env not in os.environ:
            raise r.fail(p, "password_env", f"environment variable {password_env} is not set")
        limits = r.limits({k: v for k, v in table.items() if k in LIMIT_KEYS}, p)
        relay = Relay(
            name=cast(str, r.text(table, p, "name", required=True)),
            host=cast(str, r.text(table, p, "host", required=True)),
            port=port,
            tls=limits.tls or "required",
            username=r.text(table, p, "username"),
            password_env=password_env,
            limits=limits,
        )
        relays[relay.name] = relay

    sources = []
    for i, table in enumerate(data.get("source", [])):
        p = ("source", i)
        r.check_keys(table, p, ("name", "address", "pool", "weight", "warmup",
                                "max_message_rate", "overrides", "relays"))  # fmt: skip
        relay_names = table.get("relays", [])
        if not isinstance(relay_names, list) or not all(isinstance(x, str) for x in relay_names):
            raise r.fail(p, "relays", "must be a list of relay names")
        for name in relay_names:
            if name not in relays:
                raise r.fail(p, "relays", f"no [[relay]] named {name!r} in this file")
        warmup = r.text(table, p, "warmup")
        if warmup is not None and warmup not in warmups:
            raise r.fail(p, "warmup", f"no [warmup.{warmup}] schedule in this file")
        weight = table.get("weight", 1.0)
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
            raise r.fail(p, "weight", "must be a positive number")
        overrides = {
            name: r.limits(lt, (*p, "overrides", name))
            for name, lt in table.get("overrides", {}).items()
        }
        sources.append(
            Source(
                name=cast(str, r.text(table, p, "name", required=True)),
                address=r.text(table, p, "address"),
                pool=r.text(table, p, "pool") or "default",
                weight=float(weight),
                warmup=warmup,
                max_message_rate=r.rate(table, p, "max_message_rate"),
                overrides=overrides,
                relays=tuple(relay_names),
            )
        )
    if not sources:
        sources.append(Source(name="default"))
    return Shaping(default=default, source_rate=source_rate, providers=tuple(providers),
                   automation=general, sources=tuple(sources), warmups=warmups,
                   origin=origin, relays=relays)  # fmt: skip
