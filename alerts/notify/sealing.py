"""Endpoint secrets sealed at rest: the server must sign with them, so it keeps them, but a
copy of Redis alone does not reveal them.

A :class:`SecretBox` seals with AES-256-GCM (``cryptography``) under a key ring: each key
has an id, the first seals, every one opens. A sealed value reads
``v2.<key id>.<base64url(nonce | ciphertext | tag)>``; the version, the key id and the
context (the endpoint id) are authenticated data, so a sealed secret copied onto another
endpoint, or relabelled with another key id, does not open. A key is derived from its
secret with HKDF-SHA256 (the key id in ``info``), so a secret may be any string of 32
characters or more.

Rotation: put the new key first in ``RISKWIRE_SEALING_KEYS`` (``new:…,old:…``), restart,
run ``riskwire secrets reseal`` (:mod:`alerts.notify.reseal`) to seal every stored secret
with the new key, then drop the old key.

Values of the first format (``v1.``: HMAC-SHA256 in counter mode, keyed from the identity
secret) still open when the box is given that secret as ``legacy_secret``, so that
``reseal`` can migrate them; nothing is sealed in that format any more.

>>> box = SecretBox.from_ring("k1:" + "a" * 32)
>>> sealed = box.seal("whsec_abc", context="ep1")
>>> sealed.startswith("v2.k1.")
True
>>> box.open(sealed, context="ep1")
'whsec_abc'
>>> box.open(sealed, context="ep2")
Traceback (most recent call last):
    ...
core.errors.StoreError: a sealed secret failed authentication
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import ConfigError, StoreError
from core.keyring import parse_ring

VERSION: Final = "v2"
NONCE_BYTES: Final = 12
_HKDF_INFO: Final = b"riskwire/webhook-secrets/v2/aes-256-gcm/"

LEGACY_VERSION: Final = "v1"
_LEGACY_NONCE, _LEGACY_TAG = 16, 32
_LEGACY_ENC: Final = b"riskwire/webhook-secrets/v1/encrypt"
_LEGACY_MAC: Final = b"riskwire/webhook-secrets/v1/authenticate"


def _derive(kid: str, secret: str) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO + kid.encode())
    return AESGCM(hkdf.derive(secret.encode()))


def _aad(kid: str, context: str) -> bytes:
    ctx = context.encode()
    return f"{VERSION}.{kid}.".encode() + len(ctx).to_bytes(2, "big") + ctx


class SecretBox:
    def __init__(self, ring: Sequence[tuple[str, str]], *, legacy_secret: bytes | None = None):
        if not ring:
            raise ConfigError("a secret box needs at least one key")
        self.sealing_key_id = ring[0][0]
        self._keys = {kid: _derive(kid, secret) for kid, secret in ring}
        self._legacy = _LegacyBox(legacy_secret) if legacy_secret else None

    @classmethod
    def from_ring(cls, text: str, *, legacy_secret: bytes | None = None) -> SecretBox:
        return cls(parse_ring(text), legacy_secret=legacy_secret)

    def __repr__(self) -> str:
        return f"SecretBox(keys={sorted(self._keys)}, sealing={self.sealing_key_id})"

    def seal(self, plaintext: str, *, context: str) -> str:
        kid = self.sealing_key_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        ct = self._keys[kid].encrypt(nonce, plaintext.encode(), _aad(kid, context))
        return f"{VERSION}.{kid}.{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def key_id(self, sealed: str) -> str | None:
        """The id of the key ``sealed`` was sealed with (``None``: the first format)."""
        version, _, rest = sealed.partition(".")
        return rest.partition(".")[0] if version == VERSION else None

    def open(self, sealed: str, *, context: str) -> str:
        """The secret; :class:`StoreError` when malformed, sealed with a key not in the
        ring, or altered (including its context or key id)."""
        version, _, rest = sealed.partition(".")
        if version == LEGACY_VERSION and self._legacy is not None:
            return self._legacy.open(rest, context=context)
        kid, _, payload = rest.partition(".")
        try:
            raw = base64.urlsafe_b64decode(payload.encode())
        except ValueError:
            raw = b""
        if version != VERSION or len(raw) < NONCE_BYTES + 16:
            raise StoreError("a sealed secret is malformed")
        key = self._keys.get(kid)
        if key is None:
            raise StoreError(f"a sealed secret needs key {kid[:32]!r}, not in the key ring")
        try:
            return key.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(kid, context)).decode()
        except InvalidTag:
            raise StoreError("a sealed secret failed authentication") from None


class _LegacyBox:
    """Opens (never seals) values of the first format, to migrate them."""

    def __init__(self, deployment_secret: bytes) -> None:
        self._enc = hmac.new(deployment_secret, _LEGACY_ENC, hashlib.sha256).digest()
        self._mac = hmac.new(deployment_secret, _LEGACY_MAC, hashlib.sha256).digest()

    def open(self, payload: str, *, context: str) -> str:
        try:
            raw = base64.urlsafe_b64decode(payload.encode())
        except ValueError:
            raw = b""
        if len(raw) < _LEGACY_NONCE + _LEGACY_TAG:
            raise StoreError("a sealed secret is malformed")
        nonce, ct, tag = raw[:_LEGACY_NONCE], raw[_LEGACY_NONCE:-_LEGACY_TAG], raw[-_LEGACY_TAG:]
        ctx = context.encode()
        message = LEGACY_VERSION.encode() + len(ctx).to_bytes(2, "big") + ctx + nonce + ct
        if not hmac.compare_digest(tag, hmac.new(self._mac, message, hashlib.sha256).digest()):
            raise StoreError("a sealed secret failed authentication")
        blocks = (len(ct) + 31) // 32
        stream = b"".join(
            hmac.new(self._enc, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest()
            for i in range(blocks)
        )
        return bytes(a ^ b for a, b in zip(ct, stream, strict=False)).decode()
