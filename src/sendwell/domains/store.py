"""Sending domains in the database: add (generating keys), list, load a signer.

The private keys never leave this module unencrypted except as a loaded
:class:`~sendwell.compose.dkim.DkimSigner` (or, for ``domains add``, the public part).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from sendwell.compose.dkim import (
    DkimKey,
    DkimSigner,
    generate_ed25519_pem,
    generate_rsa_pem,
    public_key_b64,
)
from sendwell.domains.keys import seal, unseal
from sendwell.errors import ConflictError, InvalidInput, NotFound
from sendwell.store.schema_content import sending_domains

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class SendingDomain:
    """A domain sendwell signs for; keys stay encrypted (``*_sealed``) in this record."""

    id: int
    domain: str
    selector: str
    ed25519_selector: str | None
    created_at: datetime
    private_sealed: str
    ed25519_sealed: str | None

    def private_pem(self, secret_key: bytes) -> bytes:
        return unseal(self.private_sealed, secret_key)

    def ed25519_pem(self, secret_key: bytes) -> bytes | None:
        return unseal(self.ed25519_sealed, secret_key) if self.ed25519_sealed else None

    def public_selectors(self, secret_key: bytes) -> list[tuple[str, str]]:
        """(selector, base64 public key) of each key, as the DNS check compares them."""
        selectors = [(self.selector, public_key_b64(self.private_pem(secret_key)))]
        ed_pem = self.ed25519_pem(secret_key)
        if self.ed25519_selector and ed_pem:
            selectors.append((self.ed25519_selector, public_key_b64(ed_pem)))
        return selectors


def normalize_domain(domain: str) -> str:
    """Lower-case, IDNA (punycode) form; refuses anything that is not a host name."""
    text = domain.strip().rstrip(".").lower()
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput(f"{domain!r} is not a valid domain name") from None
    labels = text.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidInput(f"{domain!r} is not a valid domain name")
    return text


def _check_selector(selector: str) -> str:
    if not _LABEL.match(selector.lower()):
        raise InvalidInput(f"selector {selector!r} must be one DNS label (letters, digits, -)")
    return selector.lower()


def add_domain(
    conn: Connection,
    domain: str,
    *,
    selector: str,
    ed25519: bool,
    secret_key: bytes,
    now: datetime,
) -> SendingDomain:
    """Generate the keys (RSA-2048, optionally Ed25519) and store them encrypted."""
    name = normalize_domain(domain)
    selector = _check_selector(selector)
    if conn.execute(select(sending_domains.c.id).where(sending_domains.c.domain == name)).first():
        raise ConflictError(f"sending domain {name} already exists")
    ed_selector = f"{selector}e" if ed25519 else None
    conn.execute(
        insert(sending_domains).values(
            domain=name,
            selector=selector,
            private_key=seal(generate_rsa_pem(), secret_key),
            ed25519_selector=ed_selector,
            ed25519_private_key=seal(generate_ed25519_pem(), secret_key) if ed25519 else None,
            created_at=now,
        )
    )
    return get_domain(conn, name)


def _record(row: object) -> SendingDomain:
    m = row._mapping  # type: ignore[attr-defined]
    return SendingDomain(
        id=m["id"],
        domain=m["domain"],
        selector=m["selector"],
        ed25519_selector=m["ed25519_selector"],
        created_at=m["created_at"],
        private_sealed=m["private_key"],
        ed25519_sealed=m["ed25519_private_key"],
    )


def find_domain(conn: Connection, domain: str) -> SendingDomain | None:
    row = conn.execute(
        select(sending_domains).where(sending_domains.c.domain == domain.strip().lower())
    ).first()
    return _record(row) if row is not None else None


def get_domain(conn: Connection, domain: str) -> SendingDomain:
    found = find_domain(conn, normalize_domain(domain))
    if found is None:
        raise NotFound(f"no sending domain {domain}; add it with `sendwell domains add`")
    return found


def all_domains(conn: Connection) -> list[SendingDomain]:
    rows = conn.execute(select(sending_domains).order_by(sending_domains.c.domain))
    return [_record(r) for r in rows]


def signer_for(conn: Connection, domain: str, secret_key: bytes) -> DkimSigner | None:
    """A signer with the domain's keys (RSA, then Ed25519), or None when it has none."""
    found = find_domain(conn, domain)
    if found is None:
        return None
    keys = [DkimKey(found.domain, found.selector, found.private_pem(secret_key))]
    ed_pem = found.ed25519_pem(secret_key)
    if found.ed25519_selector and ed_pem:
        keys.append(DkimKey(found.domain, found.ed25519_selector, ed_pem, "ed25519-sha256"))
    return DkimSigner(keys)
