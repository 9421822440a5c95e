"""Machine-activity classification of opens and clicks (pure).

Mailbox providers and security products fetch tracking URLs without a person looking:

* **Apple Mail Privacy Protection** preloads every remote image through Apple's proxies
  (network 17.0.0.0/8, user agent exactly ``Mozilla/5.0``) soon after delivery.
* **Image proxies** (Gmail's ``GoogleImageProxy``, Yahoo's ``YahooMailProxy``, ...) fetch
  the pixel on the reader's behalf; the fetch is real but anonymous and cached, so it is
  counted apart from direct opens.
* **Security scanners** (Microsoft Safe Links, Mimecast, Proofpoint, Barracuda, ...)
  follow links: within seconds of delivery, with ``HEAD`` requests, with scripted or known
  scanner user agents, from known networks, and by clicking every link at once.

Each signal is a :class:`Hit`; :func:`classify` returns the reason the hit is machine
activity, or ``None`` for human engagement. ``burst_reasons`` flags a recipient's clicks
that hit several different links within a moment.

Limits: heuristics, not proof. The network list is small and editable through settings
(``tracking_scanner_networks``); a human clicking within ``scanner_window`` seconds of
delivery is counted as a scanner.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

HitKind = Literal["open", "click"]

APPLE_NETWORKS = (ipaddress.ip_network("17.0.0.0/8"),)
PROXY_AGENTS = ("googleimageproxy", "yahoomailproxy", "ggpht.com", "outlook-ios", "ms-office")
SCANNER_AGENTS = (
    "bot",
    "spider",
    "crawl",
    "scan",
    "preview",
    "python-",
    "curl/",
    "wget/",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww",
    "httpclient",
    "headlesschrome",
    "phantomjs",
    "barracuda",
    "mimecast",
    "proofpoint",
    "safelinks",
    "symantec",
    "trendmicro",
    "forcepoint",
    "fireeye",
    "sophos",
)
# Microsoft's Exchange Online Protection / Safe Links detonation ranges (a start; extend
# with the setting).
DEFAULT_SCANNER_NETWORKS = ("40.92.0.0/15", "40.107.0.0/16", "52.100.0.0/14", "104.47.0.0/17")


@dataclass(frozen=True)
class Rules:
    """Thresholds of the heuristics."""

    scanner_window_s: float = 10.0
    burst_window_s: float = 2.0
    burst_links: int = 3
    scanner_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default_factory=lambda: parse_networks(DEFAULT_SCANNER_NETWORKS)
    )


def parse_networks(
    texts: Sequence[str],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(t.strip(), strict=False) for t in texts if t.strip())


@dataclass(frozen=True)
class Hit:
    """One request to a tracking URL, as the server saw it."""

    kind: HitKind
    at: datetime
    method: str
    user_agent: str
    ip: str
    delivered_at: datetime | None = None


# The same few addresses and user agents come back hit after hit, and parsing an address
# or scanning an agent for thirty patterns was a third of the event writer's time: both
# are pure, so their answers are cached (bounded: a flood of distinct values only evicts).
@functools.lru_cache(maxsize=16384)
def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def _in(ip: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    addr = _address(ip)
    return addr is not None and any(addr in net for net in networks)


@functools.lru_cache(maxsize=4096)
def _agent(user_agent: str) -> tuple[str, bool, bool]:
    """(normalized agent, looks like an image proxy, looks scripted or a scanner)."""
    agent = user_agent.strip().lower()
    proxy = any(p in agent for p in PROXY_AGENTS)
    scanner = not agent or any(s in agent for s in SCANNER_AGENTS)
    return agent, proxy, scanner


def classify(hit: Hit, rules: Rules) -> str | None:
    """Why the hit is machine activity (a short reason), or None when it looks human."""
    agent, proxy, scanner = _agent(hit.user_agent)
    if hit.kind == "open":
        if _in(hit.ip, APPLE_NETWORKS) or agent == "mozilla/5.0":
            return "apple_mpp"
        if proxy:
            return "image_proxy"
        if scanner:
            return "agent"
        return None
    if hit.method.upper() == "HEAD":
        return "head"
    if scanner:
        return "agent"
    if _in(hit.ip, rules.scanner_networks):
        return "network"
    if hit.delivered_at is not None:
        age = (hit.at - hit.delivered_at).total_seconds()
        if age < rules.scanner_window_s:
            return "too_soon"
    return None


def burst_reasons(clicks: Sequence[tuple[datetime, int]], rules: Rules) -> list[bool]:
    """For one recipient's clicks ``(at, link)``, sorted by time: whether each is part of a
    burst — ``burst_links`` or more different links within ``burst_window_s``."""
    flags = [False] * len(clicks)
    start = 0
    for end in range(len(clicks)):
        while (clicks[end][0] - clicks[start][0]).total_seconds() > rules.burst_window_s:
            start += 1
        if len({link for _, link in clicks[start : end + 1]}) >= rules.burst_links:
            for i in range(start, end + 1):
                flags[i] = True
    return flags
