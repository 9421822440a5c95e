"""Typo suggestions for the domains of common mailbox providers and for common TLDs.

``gmial.com`` → ``gmail.com``, ``hotmial.com`` → ``hotmail.com``, ``yahooo.com`` →
``yahoo.com``, ``example.con`` → ``example.com``. Pure functions, no I/O.

Rules, in order:

1. a known provider domain is never "corrected";
2. a top-level domain that is a well-known misspelling (``con``, ``cmo``, ``ocm``,
   ``nte``, ``ogr``...) is replaced — these are not delegated TLDs, so the address cannot
   work as typed;
3. the domain (after step 2) is compared with the provider domains by optimal string
   alignment distance (Levenshtein plus adjacent transpositions); the closest one within
   1 edit (2 when the domain has 6 or more characters before its TLD, none below 4) is
   suggested;
4. a provider known under one TLD only (gmail, icloud...) with another TLD is corrected
   (``gmail.co`` → ``gmail.com``); one that exists under many TLDs is not, because
   ``yahoo.de`` is as real as ``yahoo.fr``.

Limits: providers outside :data:`PROVIDER_DOMAINS` get only the TLD rule; a suggestion is
a hint shown to people, never applied automatically.
"""

from __future__ import annotations

from functools import lru_cache

from sendwell.verify.lists import FREE_PROVIDERS

__all__ = ["PROVIDER_DOMAINS", "osa_distance", "suggest_domain"]

# Most popular first: ties in distance go to the more popular provider.
PROVIDER_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "aol.com",
    "icloud.com",
    "live.com",
    "msn.com",
    "comcast.net",
    "googlemail.com",
    "hotmail.co.uk",
    "yahoo.co.uk",
    "me.com",
    "mac.com",
    "mail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "protonmail.com",
    "proton.me",
    "yandex.ru",
    "mail.ru",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "bellsouth.net",
    "btinternet.com",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "laposte.net",
    "libero.it",
    "t-online.de",
    "qq.com",
    "163.com",
    "naver.com",
    "rediffmail.com",
    "ymail.com",
    "rocketmail.com",
    "hotmail.fr",
    "yahoo.fr",
    "live.co.uk",
    "zoho.com",
    "fastmail.com",
    "tutanota.com",
)
_PROVIDERS = frozenset(PROVIDER_DOMAINS)
# Real domains that are never "corrected", even when close to a provider (email.com).
_KNOWN = _PROVIDERS | FREE_PROVIDERS

# Second-level names that providers use under one TLD only.
_SINGLE_TLD = {
    "gmail": "gmail.com",
    "googlemail": "googlemail.com",
    "icloud": "icloud.com",
    "protonmail": "protonmail.com",
    "comcast": "comcast.net",
    "sbcglobal": "sbcglobal.net",
    "bellsouth": "bellsouth.net",
    "btinternet": "btinternet.com",
    "rediffmail": "rediffmail.com",
}

TLD_TYPOS: dict[str, str] = {
    "con": "com",
    "cmo": "com",
    "ocm": "com",
    "cpm": "com",
    "comm": "com",
    "coom": "com",
    "copm": "com",
    "vom": "com",
    "xom": "com",
    "c0m": "com",
    "cim": "com",
    "clm": "com",
    "nte": "net",
    "ent": "net",
    "nett": "net",
    "ner": "net",
    "ogr": "org",
    "rog": "org",
    "orgg": "org",
    "ort": "org",
}


def osa_distance(a: str, b: str, limit: int = 3) -> int:
    """Optimal string alignment distance, cut off at ``limit`` (returned when exceeded)."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current) >= limit:
            return limit
        previous2, previous = previous, current
    return min(previous[-1], limit)


@lru_cache(maxsize=65536)
def suggest_domain(domain: str) -> str | None:
    """A likely intended domain for ``domain`` (lower-case ASCII), or None."""
    if domain in _KNOWN or "." not in domain:
        return None
    head, _, tld = domain.rpartition(".")
    fixed_tld = TLD_TYPOS.get(tld)
    candidate = f"{head}.{fixed_tld}" if fixed_tld else domain
    if candidate in _PROVIDERS:
        return candidate
    close = _closest_provider(candidate)
    if close is not None:
        return close
    sld = head.rsplit(".", 1)[-1]
    single = _SINGLE_TLD.get(sld)
    if single is not None and head == sld:
        return single
    return candidate if fixed_tld else None


def _closest_provider(domain: str) -> str | None:
    sld = domain.split(".", 1)[0]
    if len(sld) < 4:
        return None  # "ao.com" is a shop, not a misspelt aol.com: too short to judge
    allowed = 2 if len(sld) >= 6 else 1
    best: str | None = None
    best_distance = allowed + 1
    for provider in PROVIDER_DOMAINS:
        distance = osa_distance(domain, provider, limit=best_distance)
        if distance < best_distance and not _same_name_other_tld(domain, provider):
            best, best_distance = provider, distance
    return best


def _same_name_other_tld(domain: str, provider: str) -> bool:
    """``yahoo.de`` vs ``yahoo.fr``: same name, both plausible TLDs — not a typo."""
    name, _, tld = domain.partition(".")
    provider_name, _, provider_tld = provider.partition(".")
    if name != provider_name or name in _SINGLE_TLD:
        return False
    return tld not in TLD_TYPOS and provider_tld != tld
