"""Provider-specific address folding, used only to hint at duplicates.

Gmail ignores dots in local parts and everything after ``+``; Outlook, iCloud, Fastmail
and Proton ignore ``+tags``. So ``a.nn+news@gmail.com`` and ``ann@googlemail.com`` reach
one mailbox. :func:`fold_key` computes that mailbox key so a bulk run can say "possible
duplicate of line N". The stored address is never rewritten: a person who typed dots
chose that spelling, and a provider may change its rules.

Limits: only the providers listed here; Yahoo's ``-keyword`` disposable addresses are
real separate mailboxes and are not folded.
"""

from __future__ import annotations

__all__ = ["fold_key"]

# domain -> (canonical domain, drop dots, drop +tag)
_RULES: dict[str, tuple[str, bool, bool]] = {
    "gmail.com": ("gmail.com", True, True),
    "googlemail.com": ("gmail.com", True, True),
    "outlook.com": ("outlook.com", False, True),
    "hotmail.com": ("hotmail.com", False, True),
    "live.com": ("live.com", False, True),
    "icloud.com": ("icloud.com", False, True),
    "me.com": ("icloud.com", False, True),
    "mac.com": ("icloud.com", False, True),
    "fastmail.com": ("fastmail.com", False, True),
    "protonmail.com": ("proton.me", False, True),
    "proton.me": ("proton.me", False, True),
}


def fold_key(normalized: str) -> str:
    """The mailbox a normalized address reaches at its provider (itself when unknown)."""
    local, _, domain = normalized.rpartition("@")
    rule = _RULES.get(domain)
    if rule is None:
        return normalized
    canonical, drop_dots, drop_tag = rule
    if drop_tag:
        local = local.split("+", 1)[0]
    if drop_dots:
        local = local.replace(".", "")
    return f"{local}@{canonical}"
