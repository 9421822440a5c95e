"""IMAP polling of mailboxes where bounces land (setups without ``sendwell inbound``).

Each poll logs in, selects the mailbox, fetches ``UNSEEN`` messages with ``BODY.PEEK[]``
(so a crash before recording leaves them unseen), ingests each and then flags it
``\\Seen``. A message whose feedback could not be recorded stays unseen and is retried on
the next poll. Messages are never deleted: the mailbox remains the evidence.

Mailboxes are configured as URLs: ``imaps://user:password@host:993/INBOX`` (TLS) or
``imap://...`` (plain, for loopback test servers). Several, comma-separated.

Limits: password login only (no OAuth2); the whole message is fetched (up to the
ingestor's parse limit is used); one connection per mailbox per poll.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sendwell.errors import ConfigError, SendwellError
from sendwell.feedback.ingest import Ingested, Ingestor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    mailbox: str
    tls: bool

    def __repr__(self) -> str:  # never print the password
        scheme = "imaps" if self.tls else "imap"
        return f"Mailbox({scheme}://{self.user}@{self.host}:{self.port}/{self.mailbox})"


def parse_mailbox_urls(text: str) -> list[Mailbox]:
    mailboxes = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        url = urlsplit(item)
        if url.scheme not in {"imap", "imaps"} or not url.hostname:
            raise ConfigError("imap_mailboxes: each entry must be imap(s)://user:password@host/box")
        tls = url.scheme == "imaps"
        try:
            port = url.port or (993 if tls else 143)
        except ValueError:
            raise ConfigError("imap_mailboxes: bad port") from None
        mailboxes.append(
            Mailbox(
                host=url.hostname,
                port=port,
                user=unquote(url.username or ""),
                password=unquote(url.password or ""),
                mailbox=unquote(url.path.lstrip("/")) or "INBOX",
                tls=tls,
            )
        )
    return mailboxes


def _connect(box: Mailbox, timeout: float) -> imaplib.IMAP4:
    if box.tls:
        return imaplib.IMAP4_SSL(box.host, box.port, timeout=timeout)
    return imaplib.IMAP4(box.host, box.port, timeout=timeout)


def poll_mailbox(box: Mailbox, ingestor: Ingestor, *, timeout: float = 30.0) -> list[Ingested]:
    """Ingest every unseen message of one mailbox. Raises ConfigError on IMAP failures."""
    done: list[Ingested] = []
    try:
        client = _connect(box, timeout)
    except OSError as exc:
        raise ConfigError(f"cannot reach {box!r}: {exc}") from None
    try:
        client.login(box.user, box.password)
        status, _ = client.select(_quote(box.mailbox))
        if status != "OK":
            raise ConfigError(f"cannot open mailbox {box!r}")
        status, data = client.uid("SEARCH", "UNSEEN")
        uids = data[0].split() if status == "OK" and data and data[0] else []
        for uid in uids:
            status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next(
                (p[1] for p in parts if isinstance(p, tuple) and isinstance(p[1], bytes)), None
            )
            if status != "OK" or raw is None:
                continue
            try:
                done.append(ingestor.ingest(raw))
            except SendwellError as exc:
                log.error("feedback from %r not recorded; will retry: %s", box, exc)
                continue
            client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    except (imaplib.IMAP4.error, OSError) as exc:
        raise ConfigError(f"IMAP error on {box!r}: {exc}") from None
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
    return done


def _quote(mailbox: str) -> str:
    return (
        mailbox
        if re.fullmatch(r"[A-Za-z0-9._/-]+", mailbox)
        else '"' + mailbox.replace('"', '\\"') + '"'
    )


def poll_once(mailboxes: list[Mailbox], ingestor: Ingestor) -> Iterator[Ingested]:
    """Poll each mailbox once; a failing mailbox is logged and does not stop the others."""
    for box in mailboxes:
        try:
            yield from poll_mailbox(box, ingestor)
        except ConfigError as exc:
            log.error("%s", exc)


def poll_forever(
    mailboxes: list[Mailbox],
    ingestor: Ingestor,
    *,
    interval: float,
    on_ingested: Callable[[Ingested], None],
) -> None:
    while True:
        for done in poll_once(mailboxes, ingestor):
            on_ingested(done)
        time.sleep(interval)
