"""DKIM signing (RFC 6376) of the messages sendwell composes, fast enough for the hot path.

A generic DKIM library parses every message into an object model and re-canonicalizes
every header; on the delivery path that costs ~10 ms per message. This signer instead
precomputes everything that is the same for every message of a key — the loaded private
key, the list of signed header names, the constant tags of the ``DKIM-Signature`` header —
and per message only:

1. splits the header block once and canonicalizes (``relaxed``) the signed headers,
2. canonicalizes the body (``relaxed``) with two byte-regex passes and hashes it,
3. signs the header hash: RSA PKCS#1 v1.5 SHA-256, and optionally Ed25519 (RFC 8463) as a
   second, independent signature,

and prepends the ``DKIM-Signature`` header(s) to the bytes. Signing must come last: any
header added afterwards that is in ``h=`` breaks the signature.

Limits: only ``relaxed/relaxed`` canonicalization (the one every receiver accepts and the
one that survives re-folding); no ``l=`` (body length) tag, on purpose (it lets anyone
append content); input must use CRLF line endings and have a header/body separator, as
``compose.message.build_message`` produces. ``From`` is over-signed (listed once more than
it occurs) so a second ``From`` added in transit invalidates the signature.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from sendwell.errors import InvalidInput

Algorithm = Literal["rsa-sha256", "ed25519-sha256"]

# RFC 6376 §5.4.1 requires From; the rest are what the issue and the providers' bulk-sender
# rules (Gmail, Yahoo: List-Unsubscribe-Post must be signed) ask for. Names absent from a
# message are skipped, except the over-signed From.
DEFAULT_SIGNED_HEADERS: tuple[str, ...] = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-id",
    "feedback-id",
    "x-sendwell-ref",
)

_WSP_RUN = re.compile(rb"[ \t]{2,}|\t")  # a lone space is already canonical
_TRAILING_WSP = re.compile(rb"[ \t]+\r\n")
_FOLD = re.compile(rb"\r\n(?=[ \t])")


@dataclass(frozen=True)
class DkimKey:
    """One signing key: which domain and selector it is published under, and the PEM."""

    domain: str
    selector: str
    private_pem: bytes
    algorithm: Algorithm = "rsa-sha256"


def generate_rsa_pem(bits: int = 2048) -> bytes:
    """A new RSA private key in PKCS#8 PEM (unencrypted; the caller stores it safely)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def generate_ed25519_pem() -> bytes:
    """A new Ed25519 private key in PKCS#8 PEM."""
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_b64(private_pem: bytes) -> str:
    """The ``p=`` value of the DNS record for a private key.

    RSA: base64 of the DER SubjectPublicKeyInfo (RFC 6376 §3.6.1). Ed25519: base64 of the
    raw 32-byte public key (RFC 8463 §4).
    """
    key = _load(private_pem)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    else:
        raw = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return base64.b64encode(raw).decode("ascii")


def dns_txt_value(private_pem: bytes) -> str:
    """The whole TXT record value to publish at ``<selector>._domainkey.<domain>``."""
    key = _load(private_pem)
    k = "ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "rsa"
    return f"v=DKIM1; k={k}; p={public_key_b64(private_pem)}"


def _load(pem: bytes) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InvalidInput(f"DKIM private key does not load: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise InvalidInput("DKIM keys must be RSA or Ed25519")
    return key


def canonical_body(body: bytes) -> bytes:
    """Relaxed body canonicalization (RFC 6376 §3.4.4)."""
    # The regexes cost ~100 us on a newsletter; quoted-printable bodies rarely need them,
    # and a substring scan that proves so is ten times cheaper.
    if b" \r\n" in body or b"\t" in body:
        body = _TRAILING_WSP.sub(b"\r\n", body)
    if b"  " in body or b"\t" in body:
        body = _WSP_RUN.sub(b" ", body)
    # A trailing space on the final line (no CRLF after it) is also trailing WSP.
    body = body.rstrip(b" \t") if not body.endswith(b"\n") else body
    body = body.rstrip(b"\r\n")
    return body + b"\r\n" if body else b""


def canonical_header(raw: bytes) -> bytes:
    """Relaxed canonicalization of one header field, given with its name (no final CRLF)."""
    name, _, value = raw.partition(b":")
    # Most fields are one line with single spaces, where only the ends can change.
    if b"\n" in value:
        value = _FOLD.sub(b"", value)
    if b"\t" in value or b"  " in value:
        value = _WSP_RUN.sub(b" ", value)
    value = value.strip(b" \t")
    return name.strip(b" \t").lower() + b":" + value


def split_headers(head: bytes) -> list[tuple[bytes, bytes]]:
    """(lower-case name, raw field without its final CRLF), continuation lines joined."""
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and fields:
            name, raw = fields[-1]
            fields[-1] = (name, raw + b"\r\n" + line)
        else:
            fields.append((line.partition(b":")[0].strip().lower(), line))
    return fields


class DkimSigner:
    """Signs messages with one or two keys of one domain; build once, use for every message.

    >>> signer = DkimSigner([DkimKey("example.com", "s1", pem)])   # doctest: +SKIP
    >>> signed = signer.sign(message_bytes, now=clock.now())       # doctest: +SKIP
    """

    def __init__(
        self, keys: Sequence[DkimKey], signed_headers: Sequence[str] = DEFAULT_SIGNED_HEADERS
    ) -> None:
        if not keys:
            raise InvalidInput("a DKIM signer needs at least one key")
        self._names = tuple(h.lower().encode("ascii") for h in signed_headers)
        self._keys = [(k, _load(k.private_pem)) for k in keys]
        for spec, loaded in self._keys:
            want_ed = spec.algorithm == "ed25519-sha256"
            if want_ed != isinstance(loaded, ed25519.Ed25519PrivateKey):
                raise InvalidInput(f"DKIM key {spec.selector}: key type is not {spec.algorithm}")
        self._pad = padding.PKCS1v15()
        self._sha256 = hashes.SHA256()

    def sign(self, message: bytes, *, now: datetime) -> bytes:
        """The message with ``DKIM-Signature`` header(s) prepended."""
        head, sep, body = message.partition(b"\r\n\r\n")
        if not sep:
            raise InvalidInput("message has no header/body separator (CRLF CRLF)")
        bh = base64.b64encode(hashlib.sha256(canonical_body(body)).digest()).decode()
        fields = split_headers(head)
        by_name: dict[bytes, list[bytes]] = {}
        for name, raw in fields:
            by_name.setdefault(name, []).append(raw)
        # Instances are taken bottom-up (§5.4.2); over-signing From lists it one extra time.
        h_names: list[bytes] = []
        signed: list[bytes] = []
        for name in self._names:
            instances = by_name.get(name)
            if not instances:
                continue
            for raw in reversed(instances):
                h_names.append(name)
                signed.append(canonical_header(raw) + b"\r\n")
            if name == b"from":
                h_names.append(name)
        if b"from" not in h_names:
            raise InvalidInput("message has no From header to sign")
        h_tag = ":".join(n.decode("ascii") for n in h_names)
        signed_block = b"".join(signed)
        timestamp = int(now.timestamp())
        out: list[bytes] = []
        for spec, key in self._keys:
            tags = (
                f"v=1; a={spec.algorithm}; c=relaxed/relaxed; d={spec.domain}; "
                f"s={spec.selector}; t={timestamp}; h={h_tag}; bh={bh}; b="
            )
            unsigned = f"DKIM-Signature: {tags}".encode("ascii")
            data = signed_block + canonical_header(unsigned)
            if isinstance(key, ed25519.Ed25519PrivateKey):
                # RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data, not the data.
                sig = key.sign(hashlib.sha256(data).digest())
            else:
                sig = key.sign(data, self._pad, self._sha256)
            out.append(_fold(tags, base64.b64encode(sig).decode("ascii")))
        out.append(message)
        return b"".join(out)


def _fold(tags: str, b64: str) -> bytes:
    """The header folded at tag boundaries and inside b= so no line exceeds ~78 chars.

    Folding only ever adds CRLF before existing whitespace (or inside b=, which verifiers
    strip), so the relaxed canonical form — what was signed — does not change.
    """
    lines = ["DKIM-Signature:"]
    for part in tags.split("; "):
        piece = part if part.endswith("b=") else part + ";"
        if len(lines[-1]) + 1 + len(piece) > 76:
            lines.append(" " + piece)
        else:
            lines[-1] += " " + piece
    rest = b64
    room = max(8, 76 - len(lines[-1]))
    lines[-1] += rest[:room]
    rest = rest[room:]
    while rest:
        lines.append(" " + rest[:72])
        rest = rest[72:]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")
