"""Endpoint secrets sealed at rest: the server must sign with them, so it keeps them, but a
copy of Redis alone does not reveal them.

A :class:`SecretBox` derives two keys from the deployment secret (HMAC-SHA256 with fixed
labels, one key per purpose) and seals with HMAC-SHA256 in counter mode as the stream
cipher and an HMAC-SHA256 tag over version, context, nonce and ciphertext
(encrypt-then-MAC), using the standard library only. The context (the endpoint id) is
authenticated, so a sealed secret copied onto another endpoint does not open.

>>> box = SecretBox(b"a deployment secret of 32+ bytes.")
>>> sealed = box.seal("whsec_abc", context="ep1")
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
from typing import Final

from core.errors import StoreError

VERSION: Final = "v1"
NONCE_BYTES: Final = 16
TAG_BYTES: Final = 32
_ENC_LABEL: Final = b"riskwire/webhook-secrets/v1/encrypt"
_MAC_LABEL: Final = b"riskwire/webhook-secrets/v1/authenticate"


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (length + 31) // 32
    return b"".join(
        hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(blocks)
    )[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


class SecretBox:
    def __init__(self, deployment_secret: bytes) -> None:
        if len(deployment_secret) < 16:
            raise ValueError("the deployment secret must hold at least 16 bytes")
        self._enc = hmac.new(deployment_secret, _ENC_LABEL, hashlib.sha256).digest()
        self._mac = hmac.new(deployment_secret, _MAC_LABEL, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "SecretBox(***)"

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        data = plaintext.encode()
        ct = _xor(data, _keystream(self._enc, nonce, len(data)))
        tag = self._tag(context, nonce, ct)
        return f"{VERSION}.{base64.urlsafe_b64encode(nonce + ct + tag).decode()}"

    def open(self, sealed: str, *, context: str) -> str:
        version, _, payload = sealed.partition(".")
        try:
            raw = base64.urlsafe_b64decode(payload.encode())
        except ValueError:
            raw = b""
        if version != VERSION or len(raw) < NONCE_BYTES + TAG_BYTES:
            raise StoreError("a sealed secret is malformed")
        nonce, ct, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(context, nonce, ct)):
            raise StoreError("a sealed secret failed authentication")
        return _xor(ct, _keystream(self._enc, nonce, len(ct))).decode()

    def _tag(self, context: str, nonce: bytes, ct: bytes) -> bytes:
        ctx = context.encode()
        message = VERSION.encode() + len(ctx).to_bytes(2, "big") + ctx + nonce + ct
        return hmac.new(self._mac, message, hashlib.sha256).digest()
