"""The optional link check of preflight: does every link and image of a campaign answer?

A broken link in a mass mailing is a broken link in every inbox at once, and a link to a
dead domain is a spam signal. :func:`check_links` asks each distinct ``http``/``https``
URL once — ``HEAD`` first, ``GET`` when the server refuses ``HEAD`` — following up to
:data:`MAX_REDIRECTS` redirects, a few at a time, each within a timeout, and reports what
answered and what did not.

The URLs come from a campaign author, and the check runs on the sending server, so it
must not become a way to probe the server's own network: every host is resolved first
and a URL whose host (or any redirect's host) has a loopback, private, link-local or
otherwise non-public address is not fetched unless that address is in ``allowed``
networks (``link_check_allowed_networks``; tests and the sandbox use loopback).

Limits: URLs with template markup (``{{ ... }}``) are personal and are not checked; the
address check and the connection resolve the host separately, so a DNS answer that
changes between the two (rebinding) is not caught; a server that answers ``HEAD`` and
``GET`` differently is judged by ``HEAD``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPException, HTTPMessage
from typing import IO
from urllib.parse import urlsplit

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_REDIRECTS = 5
USER_AGENT = "sendwell-link-check/1"

_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["']?([^"'\s>]+)""", re.I)
_HREF = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["']?([^"'\s>]+)""", re.I)


@dataclass(frozen=True)
class LinkResult:
    """One URL's answer: ``status`` is the final HTTP status (0 when none came)."""

    url: str
    ok: bool
    status: int
    detail: str


def campaign_urls(html_template: str) -> list[str]:
    """The distinct literal http(s) URLs of links and images, in order of appearance."""
    seen: dict[str, None] = {}
    for match in [*_HREF.finditer(html_template), *_IMG_SRC.finditer(html_template)]:
        url = match.group(1).replace("&amp;", "&")
        if url.lower().startswith(("http://", "https://")) and "{" not in url:
            seen.setdefault(url, None)
    return list(seen)


class _Refused(Exception):
    """A URL the check will not fetch (scheme or address)."""


def _check_host(url: str, allowed: Sequence[IpNetwork]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Refused(f"not an http(s) URL: {url}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise _Refused(f"{parts.hostname} does not resolve ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address.is_global or any(address in net for net in allowed):
            continue
        raise _Refused(f"{parts.hostname} is a non-public address ({address}); not fetched")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to hosts that pass the same address check, and not forever."""

    max_redirections = MAX_REDIRECTS

    def __init__(self, allowed: Sequence[IpNetwork]) -> None:
        self._allowed = allowed

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        _check_host(newurl, self._allowed)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _fetch(url: str, *, timeout: float, allowed: Sequence[IpNetwork]) -> LinkResult:
    try:
        _check_host(url, allowed)
    except _Refused as exc:
        return LinkResult(url, False, 0, str(exc))
    opener = urllib.request.build_opener(_CheckedRedirects(allowed))
    status, detail = 0, ""
    for method in ("HEAD", "GET"):
        # _check_host admitted only http(s) URLs (and checks every redirect the same way).
        request = urllib.request.Request(  # noqa: S310
            url, method=method, headers={"User-Agent": USER_AGENT}
        )
        try:
            with opener.open(request, timeout=timeout) as response:
                return LinkResult(url, True, int(response.status), "")
        except urllib.error.HTTPError as exc:
            status, detail = exc.code, f"HTTP {exc.code} {exc.reason}"
            if method == "HEAD" and exc.code in (403, 405, 501):
                continue  # some servers refuse HEAD only: ask again with GET
            break
        except _Refused as exc:  # a redirect to a host the check will not fetch
            return LinkResult(url, False, 0, str(exc))
        except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return LinkResult(url, False, 0, f"no answer: {reason}")
    return LinkResult(url, False, status, detail)


def check_links(
    urls: Sequence[str],
    *,
    timeout: float = 10.0,
    concurrency: int = 8,
    allowed: Sequence[IpNetwork] = (),
) -> list[LinkResult]:
    """Ask every URL (in parallel threads); one result per URL, in the given order."""
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(urls)))) as pool:
        return list(pool.map(lambda u: _fetch(u, timeout=timeout, allowed=allowed), urls))
