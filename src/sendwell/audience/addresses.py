"""Address normalization and the suppression hash.

An address is normalized once, on the way in, so that the same person cannot appear twice
under two spellings: surrounding white space goes, the domain is converted to its IDNA
ASCII form and lower-cased, and the local part is lower-cased too. RFC 5321 lets a server
treat local parts case-sensitively, but no mailbox provider in use does, and two rows for
``Ann@x`` and ``ann@x`` would mean two messages to one person.

Syntax checking is delegated to ``email-validator`` (RFC 5321/5322, RFC 6531 for
internationalized addresses); DNS checks belong to ``sendwell.verify``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from sendwell.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Address:
    """A normalized address, with the parts the rest of sendwell keys on."""

    email: str
    domain: str
    hash: str


def address_hash(email: str) -> str:
    """SHA-256 of a normalized address: the key of suppressions, kept after erasure."""
    return hashlib.sha256(email.encode("utf-8")).hexdigest()


def stored_address(email: str) -> Address:
    """The :class:`Address` of an address read back from the database (already normalized,
    so it is not validated again)."""
    return Address(email=email, domain=email.rpartition("@")[2], hash=address_hash(email))


def normalize(raw: str) -> Address:
    """Validate and normalize one address, or raise :class:`InvalidInput` saying why."""
    text = raw.strip()
    if not text:
        raise InvalidInput("empty address")
    if any(ch in text for ch in "\r\n\x00"):
        raise InvalidInput("address contains a line break or NUL")
    try:
        info = validate_email(text, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidInput(f"invalid address {text!r}: {exc}") from None
    domain = info.ascii_domain.lower()
    email = f"{info.local_part.lower()}@{domain}"
    return Address(email=email, domain=domain, hash=address_hash(email))
