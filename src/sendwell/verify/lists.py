"""Reference data: disposable domains, role accounts, free-mail providers, and overrides.

Disposable domains come from the ``disposable-email-domains`` package (a community list
maintained on GitHub and released to PyPI several times a month; update it with
``pip install -U disposable-email-domains``). Operators add their own in a file (one
domain per line, ``#`` comments) and in settings, and rescue false positives with an
allowlist that always wins. A subdomain of a listed domain is listed too
(``x.mailinator.com``).

Role local parts (info@, admin@, noreply@...) are compared without separators and
``+tags``, so ``no-reply``, ``no.reply`` and ``noreply+x`` all match ``noreply``.

The free-mail list is a short, hand-kept list of the large consumer providers. It is a
flag for reports and B2B senders, not a judgement: a free-mail address is a fine address.

Limits: the package list is only as fresh as the installed version; the free-mail list
covers the big providers, not every regional one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import disposable_email_domains

from sendwell.errors import ConfigError

__all__ = [
    "DEFAULT_ROLE_ACCOUNTS",
    "FREE_PROVIDERS",
    "ReferenceLists",
    "parse_domain_list",
    "read_domain_file",
]

DEFAULT_ROLE_ACCOUNTS: frozenset[str] = frozenset(
    [
        "abuse",
        "accounting",
        "accounts",
        "admin",
        "administrator",
        "all",
        "billing",
        "careers",
        "contact",
        "customerservice",
        "devnull",
        "dns",
        "enquiries",
        "everyone",
        "feedback",
        "finance",
        "ftp",
        "help",
        "hello",
        "hostmaster",
        "hr",
        "info",
        "inquiries",
        "investor",
        "investors",
        "it",
        "jobs",
        "legal",
        "list",
        "mail",
        "mailerdaemon",
        "marketing",
        "media",
        "news",
        "newsletter",
        "noc",
        "noreply",
        "donotreply",
        "office",
        "orders",
        "postmaster",
        "press",
        "privacy",
        "root",
        "sales",
        "security",
        "service",
        "spam",
        "staff",
        "support",
        "sysadmin",
        "team",
        "tech",
        "undisclosedrecipients",
        "unsubscribe",
        "usenet",
        "uucp",
        "webmaster",
        "www",
    ]
)

FREE_PROVIDERS: frozenset[str] = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.co.in",
        "yahoo.fr",
        "yahoo.de",
        "yahoo.es",
        "yahoo.it",
        "yahoo.com.br",
        "yahoo.co.jp",
        "ymail.com",
        "rocketmail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "hotmail.de",
        "hotmail.it",
        "hotmail.es",
        "outlook.com",
        "outlook.fr",
        "outlook.de",
        "live.com",
        "live.co.uk",
        "live.fr",
        "msn.com",
        "aol.com",
        "aim.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "mail.com",
        "email.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "gmx.ch",
        "web.de",
        "protonmail.com",
        "protonmail.ch",
        "proton.me",
        "pm.me",
        "tutanota.com",
        "tuta.io",
        "zoho.com",
        "zohomail.com",
        "yandex.ru",
        "yandex.com",
        "ya.ru",
        "mail.ru",
        "inbox.ru",
        "list.ru",
        "bk.ru",
        "rambler.ru",
        "qq.com",
        "163.com",
        "126.com",
        "yeah.net",
        "sina.com",
        "sohu.com",
        "naver.com",
        "daum.net",
        "hanmail.net",
        "rediffmail.com",
        "libero.it",
        "virgilio.it",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "laposte.net",
        "sfr.fr",
        "t-online.de",
        "freenet.de",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "interia.pl",
        "onet.pl",
        "btinternet.com",
        "sky.com",
        "talktalk.net",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "bellsouth.net",
        "cox.net",
        "charter.net",
        "earthlink.net",
        "juno.com",
        "fastmail.com",
        "fastmail.fm",
        "hushmail.com",
        "mailfence.com",
        "posteo.de",
        "mailbox.org",
        "bigpond.com",
        "optusnet.com.au",
        "shaw.ca",
        "rogers.com",
        "sympatico.ca",
        "uol.com.br",
        "bol.com.br",
        "terra.com.br",
    ]
)


def parse_domain_list(text: str) -> frozenset[str]:
    """Domains from a comma- or whitespace-separated setting value, lower-cased."""
    return frozenset(d.strip().lower().rstrip(".") for d in text.replace(",", " ").split() if d)


def read_domain_file(path: Path) -> frozenset[str]:
    """One domain per line; blank lines and ``#`` comments are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read domain list {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"domain list {path} is not UTF-8 text") from None
    domains = (line.split("#", 1)[0].strip().lower().rstrip(".") for line in lines)
    return frozenset(d for d in domains if d)


def _role_key(local: str) -> str:
    base = local.split("+", 1)[0].lower()
    return "".join(c for c in base if c not in ".-_")


@dataclass(frozen=True)
class ReferenceLists:
    """The lists the offline checks consult; build with :meth:`build`."""

    disposable: frozenset[str]
    allow: frozenset[str]
    roles: frozenset[str]
    free: frozenset[str]

    @classmethod
    def build(
        cls,
        *,
        extra_disposable: Iterable[str] = (),
        allow: Iterable[str] = (),
        roles: Iterable[str] | None = None,
        free: Iterable[str] | None = None,
    ) -> ReferenceLists:
        """The shipped lists plus overrides; ``roles``/``free`` replace the defaults."""
        package_allow = frozenset(d.lower() for d in disposable_email_domains.allowlist)
        return cls(
            disposable=frozenset(d.lower() for d in disposable_email_domains.blocklist)
            | frozenset(extra_disposable),
            allow=package_allow | frozenset(allow),
            roles=frozenset(_role_key(r) for r in roles)
            if roles is not None
            else DEFAULT_ROLE_ACCOUNTS,
            free=frozenset(free) if free is not None else FREE_PROVIDERS,
        )

    def is_disposable(self, domain: str) -> bool:
        """True for a listed domain or a subdomain of one, unless allowlisted."""
        labels = domain.lower().split(".")
        candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)]
        if any(c in self.allow for c in candidates):
            return False
        return any(c in self.disposable for c in candidates)

    def is_role(self, local: str) -> bool:
        return _role_key(local) in self.roles

    def is_free(self, domain: str) -> bool:
        return domain.lower() in self.free
