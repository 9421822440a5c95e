"""Bounce classification: RFC 3463 enhanced status codes and reply text → hard/soft/block.

Pure functions. The three outcomes drive different policies, so the costly mistake is
calling something *hard* that is not: a hard bounce suppresses the address forever, while
a *block* (policy, reputation, authentication, content — the sender's problem) must never
suppress anyone. Hence:

* a specific code decides (``5.1.1`` hard, ``5.2.2`` soft, ``5.7.x`` block, ...), except
  where real servers are known to misuse it (``5.7.1``/``5.4.1`` with "user unknown" text);
* generic codes (``X.0.0``) and bare SMTP codes are decided by the reply text;
* a permanent failure nothing recognizes is **soft** (reason ``permanent_unrecognized``):
  it counts towards the soft-bounce window, so an address that keeps failing is still
  suppressed eventually, but one odd reply never suppresses a good address.

Limits: English reply texts only (plus the codes, which are language-neutral).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sendwell.feedback.records import Classification

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP = re.compile(r"(?<!\d)([245]\d\d)(?:[ -]|$)")


@dataclass(frozen=True)
class Verdict:
    classification: Classification
    reason: str


# Exact enhanced codes whose meaning is unambiguous (RFC 3463, RFC 7505, RFC 3886).
_BY_CODE: dict[str, Verdict] = {
    "1.0": Verdict("hard", "address_rejected"),
    "1.1": Verdict("hard", "mailbox_unknown"),
    "1.2": Verdict("hard", "bad_domain"),
    "1.3": Verdict("hard", "bad_syntax"),
    "1.4": Verdict("hard", "mailbox_ambiguous"),
    "1.6": Verdict("hard", "mailbox_moved"),
    "1.10": Verdict("hard", "null_mx"),
    "1.7": Verdict("block", "sender_syntax"),
    "1.8": Verdict("block", "sender_domain"),
    "2.1": Verdict("hard", "mailbox_disabled"),
    "2.2": Verdict("soft", "mailbox_full"),
    "2.3": Verdict("block", "message_too_large"),
    "2.4": Verdict("soft", "list_expansion"),
    "3.1": Verdict("soft", "system_full"),
    "3.4": Verdict("block", "message_too_large"),
    "4.4": Verdict("hard", "bad_domain"),
    "4.6": Verdict("soft", "routing_loop"),
    "4.7": Verdict("soft", "expired"),
    "6.0": Verdict("block", "content"),
    "7.0": Verdict("block", "policy"),
    "7.1": Verdict("block", "policy"),
    "7.23": Verdict("block", "authentication"),
    "7.25": Verdict("block", "authentication"),
    "7.26": Verdict("block", "authentication"),
    "7.27": Verdict("block", "authentication"),
}

# Text patterns, checked in this order. The hard ones are specific phrases; vaguer words
# ("rejected", "unavailable") alone prove nothing.
_HARD_TEXT: tuple[tuple[str, str], ...] = (
    (
        r"null mx|no mx or a|couldn't find any host|host not found|domain (?:name )?(?:not found|"
        r"does not exist|is not valid)|no such domain|unrouteable address|nxdomain|"
        r"name or service not known|not a valid domain",
        "bad_domain",
    ),
    (
        r"user unknown|unknown user|no such (?:user|mailbox|recipient|address|account)|"
        r"(?:user|mailbox|recipient|account|address|e-?mail account)(?: \S+)? (?:does not|"
        r"doesn't) exist|does not exist|doesn't exist|recipient not found|mailbox not found|"
        r"user not found|address not found|recipientnotfound|invalid (?:recipient|mailbox|"
        r"address)|unknown (?:recipient|mailbox|address|local.?part)|recipient unknown|"
        r"no mailbox here|bad destination mailbox|not our customer|mailbox unavailable|"
        r"mailbox is unavailable|address rejected.*(?:unknown|not exist)|AS\(201806281\)|"
        r"wasn't found at|was not found at|undeliverable address|not a valid recipient|"
        r"no longer (?:valid|active|"
        r"available)|unknown or illegal alias|this account (?:has been|is) (?:disabled|"
        r"deactivated|closed)|account (?:is |has been )?(?:disabled|deactivated|closed|"
        r"inactive|expired|suspended)|mailbox (?:disabled|inactive)",
        "mailbox_unknown",
    ),
)
_BLOCK_TEXT: tuple[tuple[str, str], ...] = (
    (
        r"spf|dkim|dmarc|not authenticated|authentication (?:required|failed)|"
        r"unauthenticated",
        "authentication",
    ),
    (
        r"spamhaus|spamcop|barracuda|block ?list|black ?list|listed (?:in|on|at)|\brbl\b|"
        r"dnsbl|reputation|\b(?:TSS?0[1-5]|IPTS0\d)\b|poor sending",
        "reputation",
    ),
    (
        r"rate limit|too many (?:messages|connections|recipients)|exceeded the (?:maximum|"
        r"rate)|sending limits|unusual rate|try again later.*rate|throttl",
        "rate_limited",
    ),
    (
        r"\bspam\b|junk|unsolicited|content (?:rejected|filter)|message (?:content )?"
        r"rejected|virus|malware|phish|suspicious|bulk mail|dangerous",
        "spam_content",
    ),
    (
        r"\bpolicy\b|not (?:authorized|permitted|allowed)|access denied|relay(?:ing)? "
        r"(?:access )?denied|administrative prohibit|prohibited|refused|blocked|"
        r"rejected by (?:the )?recipient domain",
        "policy",
    ),
)
_SOFT_TEXT: tuple[tuple[str, str], ...] = (
    (
        r"mailbox (?:is )?full|over ?quota|quota (?:exceeded|exceed)|exceeded (?:the )?"
        r"(?:storage|quota)|insufficient (?:storage|space|system storage)|disk quota|"
        r"mailbox size limit|storage (?:limit|allocation)",
        "mailbox_full",
    ),
    (
        r"retry timeout exceeded|could not be delivered for|delivery time expired|"
        r"message expired|too old|given up|giving up",
        "expired",
    ),
    (
        r"temporar|try (?:again )?later|timed? ?out|connection (?:refused|reset|lost|"
        r"dropped)|greylist|graylist|deferred|service (?:not )?(?:un)?available|"
        r"resources",
        "temporary",
    ),
)
_COMPILED = {
    name: tuple((re.compile(p, re.IGNORECASE), r) for p, r in table)
    for name, table in (("hard", _HARD_TEXT), ("block", _BLOCK_TEXT), ("soft", _SOFT_TEXT))
}


def find_status(text: str) -> str:
    """The first RFC 3463 enhanced status code in a text, or ""."""
    match = _STATUS.search(text)
    return ".".join(match.groups()) if match else ""


def find_smtp_code(text: str) -> int | None:
    """The first three-digit SMTP reply code in a text (2xx/4xx/5xx), or None."""
    match = _SMTP.search(text)
    return int(match.group(1)) if match else None


def _text(kind: str, text: str) -> str | None:
    for pattern, reason in _COMPILED[kind]:
        if pattern.search(text):
            return reason
    return None


def classify(status: str, diagnostic: str, action: str = "") -> Verdict:
    """Classify one recipient's failure from its status code, reply text and DSN action.

    ``status`` is an enhanced code (may be empty; then one is looked for in the text);
    ``diagnostic`` the reply text; ``action`` the RFC 3464 Action field if known.
    """
    text = " ".join(diagnostic.split())
    status = (status or find_status(text)).strip()
    if status.endswith(".0.0"):
        # "Status: 5.0.0" next to "550 5.1.1 user unknown": the reply is more precise.
        specific = find_status(text)
        if specific[:1] == status[:1] and not specific.endswith(".0.0"):
            status = specific
    action = action.strip().lower()
    smtp = find_smtp_code(text)
    klass = status[:1] if status else (str(smtp)[0] if smtp else "")

    if action in {"delivered", "relayed", "expanded"} or klass == "2":
        return Verdict("success", action or "delivered")
    if action == "delayed":
        return Verdict("delayed", "delayed")

    hard = _text("hard", text)
    block = _text("block", text)
    soft = _text("soft", text)

    detail = status.split(".", 1)[1] if status.count(".") == 2 else ""
    known = _BY_CODE.get(detail)
    if klass == "4":
        # A temporary failure is never hard, whatever it says; policy ones are blocks.
        if detail.startswith("7.") or (block and not soft):
            return Verdict("block", block or "policy")
        return Verdict("soft", soft or "temporary")
    if known is not None:
        # Servers (Office 365, some appliances) answer unknown users with 5.7.1/5.4.1.
        ambiguous = known.classification == "block" and detail in {"7.1", "7.0"}
        if ambiguous and hard and block in {None, "policy"}:
            return Verdict("hard", hard)
        if detail == "1.10" and hard == "mailbox_unknown":
            # RFC 7505 says null MX; Office 365 uses 5.1.10 for "recipient not found".
            return Verdict("hard", hard)
        if known.classification == "block" and block not in {None, "policy"}:
            # 5.7.1 is every kind of refusal; the words say which (spam, SPF, a list).
            return Verdict("block", block or known.reason)
        return known
    if detail.startswith("7."):
        return Verdict("block", block or "policy")
    if detail.startswith("6."):
        return Verdict("block", "content")
    if hard and not (block and block != "policy"):
        return Verdict("hard", hard)
    if block:
        return Verdict("block", block)
    if soft:
        return Verdict("soft", soft)
    if detail.startswith("4.") or detail.startswith("5."):
        return Verdict("soft", "routing" if detail.startswith("4.") else "protocol")
    if klass == "5" or action == "failed":
        if smtp == 552:
            return Verdict("soft", "mailbox_full")
        return Verdict("soft", "permanent_unrecognized")
    return Verdict("unknown", "unrecognized")
