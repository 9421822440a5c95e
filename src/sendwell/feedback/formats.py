"""Bounces that are not RFC 3464 DSNs: the plain-text formats real MTAs still send.

Each recognizer takes the message's text (and its headers) and returns the failed
recipients with the server's words, or None when the text is not in its format:

* qmail (QSBMF, ``Hi. This is the qmail-send program``) and its ``(#5.1.1)`` codes,
  also when a localized installation rewrote the introduction;
* Exim (``This message was created automatically by mail delivery software``);
* Sendmail (``----- The following addresses had permanent fatal errors -----``);
* Postfix's text part (``<addr>: host ... said: 550 ... (in reply to RCPT TO command)``);
* Gmail (``Delivery to the following recipient failed permanently``);
* Exchange / Office 365 (``Delivery has failed to these recipients``, ``Your message to
  ... couldn't be delivered``, ``Reported error:``);
* Yahoo (``Sorry, we were unable to deliver your message``);
* a generic fallback: ``X-Failed-Recipients`` plus the first SMTP reply in the text.

Limits: English texts (the codes are language-neutral); one diagnostic per recipient (the
first one found).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ADDR = r"[^\s<>()\"',;:]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+"
_ADDR_RE = re.compile(_ADDR)
_REPLY_LINE = re.compile(r"(?:^|\s)([45]\d\d[ -].*|#?[45]\.\d{1,3}\.\d{1,3}.*)$", re.MULTILINE)


@dataclass(frozen=True)
class TextFailure:
    """One recipient failure read from a human-readable bounce."""

    address: str
    diagnostic: str
    temporary: bool


@dataclass(frozen=True)
class TextBounce:
    format: str
    failures: tuple[TextFailure, ...]


def _oneline(text: str) -> str:
    return " ".join(text.split())[:1000]


_QMAIL_PARAGRAPH = re.compile(rf"^<({_ADDR})>:\s*\n(.*?)(?=^<|^---|\Z)", re.M | re.S)
_QMAIL_CODE = re.compile(r"\(#([45])\.\d{1,3}\.\d{1,3}\)")


def _qmail(text: str) -> TextBounce | None:
    """QSBMF: one ``<address>:`` paragraph per recipient. Localized qmail installations
    rewrite the English introduction, so without it a paragraph must end in qmail's own
    ``(#5.1.1)`` status notation to count."""
    english = "qmail-send program" in text or "This is the qmail" in text
    body = re.split(r"^--- Below this line is a copy of the message", text, flags=re.M)[0]
    failures = []
    for match in _QMAIL_PARAGRAPH.finditer(body):
        reason = match.group(2)
        code = _QMAIL_CODE.search(reason)
        if not english and code is None:
            continue
        if code is not None:
            temporary = code.group(1) == "4"
        else:
            temporary = "temporary" in body.lower() and "permanent" not in body.lower()
        failures.append(TextFailure(match.group(1), _oneline(reason), temporary))
    if not english and not failures:
        return None
    return TextBounce("qmail", tuple(failures))


def _exim(text: str) -> TextBounce | None:
    if "created automatically by mail delivery software" not in text:
        return None
    body = re.split(r"^-+ This is a copy of", text, flags=re.M)[0]
    temporary = "Delivery attempts will continue" in body or "has not yet been" in body
    failures = []
    section = re.split(
        r"following address(?:\(es\))? failed:?|could not be delivered to"
        r" one or more",
        body,
        maxsplit=1,
    )
    tail = section[-1]
    for match in re.finditer(
        rf"^\s{{1,8}}<?({_ADDR})>?:?\s*$(.*?)(?=^\s{{1,8}}<?{_ADDR}>?:?\s*$|\Z)", tail, re.M | re.S
    ):
        failures.append(TextFailure(match.group(1), _oneline(match.group(2)), temporary))
    return TextBounce("exim", tuple(failures))


def _sendmail(text: str) -> TextBounce | None:
    match = re.search(
        r"-+ The following addresses had (permanent fatal errors|"
        r"transient non-fatal errors) -+\s*\n(.*?)(?:\n\s*\n|\Z)",
        text,
        re.S,
    )
    if match is None:
        return None
    temporary = match.group(1).startswith("transient")
    failures = []
    for line in re.finditer(rf"<?({_ADDR})>?[^\n]*(?:\n\s+\(reason: ([^\n]*)\))?", match.group(2)):
        diag = line.group(2) or ""
        if not diag:
            transcript = re.search(rf"{re.escape(line.group(1))}>?\.\.\. (.*)", text)
            diag = transcript.group(1) if transcript else ""
        failures.append(TextFailure(line.group(1), _oneline(diag), temporary))
    return TextBounce("sendmail", tuple(failures))


def _gmail(text: str) -> TextBounce | None:
    match = re.search(
        r"Delivery to the following recipients? (failed permanently|has been "
        r"delayed|failed)",
        text,
    )
    if match is None:
        return None
    temporary = "delayed" in match.group(1)
    # What follows the report is the returned message, whose addresses and words are not
    # the server's.
    after = re.split(r"^-+ ?Original message ?-+", text[match.end() :], flags=re.M | re.I)[0]
    addrs = _ADDR_RE.findall(after.split("Technical details", 1)[0])
    returned = re.search(
        r"The error that the other server returned was:\s*\n(.*?)(?:\n\s*\n|"
        r"\Z)",
        after,
        re.S,
    )
    details = re.sub(
        r"^\s*of (?:permanent|temporary) failure:", "", after.split("Technical details", 1)[-1]
    )
    diag = _oneline(returned.group(1)) if returned else _oneline(details[:600])
    return TextBounce("gmail", tuple(TextFailure(a, diag, temporary) for a in addrs[:1]))


def _exchange(text: str) -> TextBounce | None:
    if "Delivery has failed to these recipients" in text:
        after = text.split("Delivery has failed to these recipients", 1)[1]
        failures = []
        for match in re.finditer(
            rf"({_ADDR})[^\n]*\n?(.*?#\s*([45]\.\d+\.\d+|[45]\d\d)[^\n]*)?", after[:4000]
        ):
            diag = match.group(2) or ""
            failures.append(TextFailure(match.group(1), _oneline(diag), False))
            break
        return TextBounce("exchange", tuple(failures))
    o365 = re.search(rf"Your message to ({_ADDR}) couldn't be delivered", text)
    if o365 is None:
        return None
    reported = re.search(r"Reported error:\s*(.*?)(?:\n\s*\n|DSN generated by|\Z)", text, re.S)
    diag = _oneline(reported.group(1)) if reported else _oneline(text[o365.end() :][:400])
    return TextBounce("office365", (TextFailure(o365.group(1), diag, False),))


def _yahoo(text: str) -> TextBounce | None:
    if "unable to deliver your message to the following address" not in text:
        return None
    failures = []
    for match in re.finditer(rf"<({_ADDR})>:\s*\n(.*?)(?:\n\s*\n|\Z)", text, re.S):
        failures.append(TextFailure(match.group(1), _oneline(match.group(2)), False))
    return TextBounce("yahoo", tuple(failures))


def _postfix_text(text: str) -> TextBounce | None:
    if "This is the mail system at host" not in text and "(in reply to" not in text:
        return None
    failures = []
    for match in re.finditer(
        rf"^<({_ADDR})>(?: \(expanded from <[^>]*>\))?:\s*(.*?)(?:\n\s*\n|\Z)", text, re.M | re.S
    ):
        failures.append(TextFailure(match.group(1), _oneline(match.group(2)), False))
    return TextBounce("postfix", tuple(failures))


_RECOGNIZERS = (_qmail, _exim, _sendmail, _gmail, _exchange, _yahoo, _postfix_text)


def recognize(text: str, failed_recipients: str = "") -> TextBounce | None:
    """The failures a non-standard bounce text reports, or None if it is not one."""
    for recognizer in _RECOGNIZERS:
        found = recognizer(text)
        if found is not None and found.failures:
            return found
    if failed_recipients:
        replies = _REPLY_LINE.findall(text)
        diag = _oneline(replies[0]) if replies else ""
        addrs = _ADDR_RE.findall(failed_recipients)
        return TextBounce("generic", tuple(TextFailure(a, diag, False) for a in addrs))
    return None


def looks_like_bounce(subject: str, sender: str) -> bool:
    """Whether headers alone suggest a bounce (used to tell bounces from replies)."""
    sender = sender.lower()
    subject = subject.lower()
    daemon = any(w in sender for w in ("mailer-daemon", "postmaster", "mail delivery"))
    words = (
        "undeliver",
        "undelivered",
        "delivery status notification",
        "failure notice",
        "returned mail",
        "mail delivery failed",
        "delivery failure",
        "non remis",
        "delivery has failed",
        "could not be delivered",
        "nondeliverable",
    )
    return daemon or any(w in subject for w in words)


def generic(text: str) -> TextBounce | None:
    """Last resort for a message that looks like a bounce: first address near a reply."""
    for match in _REPLY_LINE.finditer(text):
        window = text[max(0, match.start() - 400) : match.end()]
        addrs = _ADDR_RE.findall(window)
        if addrs:
            return TextBounce("generic", (TextFailure(addrs[-1], _oneline(match.group(1)), False),))
    return None
