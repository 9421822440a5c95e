"""Encryption at rest of DKIM private keys.

Keys live in the database (so every worker machine can sign) encrypted with Fernet
(AES-128-CBC + HMAC-SHA256) under a key derived by HKDF from the sendwell secret key.
A database dump or backup alone does not reveal them; the secret key does, so it is kept
apart (setting or ``<data_dir>/secret.key``, mode 0600).

Limit: rotating the secret key makes stored DKIM keys unreadable; re-add the domain with a
new selector after rotating.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sendwell.errors import ConfigError


def _fernet(secret_key: bytes) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"sendwell dkim private keys"
    ).derive(secret_key)
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(pem: bytes, secret_key: bytes) -> str:
    return _fernet(secret_key).encrypt(pem).decode("ascii")


def unseal(token: str, secret_key: bytes) -> bytes:
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii"))
    except InvalidToken:
        raise ConfigError(
            "a stored DKIM key cannot be decrypted: the secret key changed since it was made"
        ) from None
