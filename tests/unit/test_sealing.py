"""Webhook secrets at rest: sealed with AES-256-GCM under a key id, so keys rotate (an old
key id still opens, a new one seals); any change to a sealed value, its key id or its
context is detected; values of the first (HMAC counter-mode) format open only to be
migrated; and outside development the settings refuse every development secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from alerts.notify.sealing import SecretBox
from core.errors import ConfigError, StoreError
from core.settings import DEV_AUDIT_KEY, DEV_IDENTITY_SECRET, DEV_SEALING_KEYS, Settings

SECRET = "whsec_" + base64.b64encode(b"sealing-suite-secret-24by").decode()
OLD = "old:" + "o" * 40
NEW = "new:" + "n" * 40
IDENTITY = b"riskwire-identity-secret-of-test"


def legacy_seal(deployment_secret: bytes, plaintext: str, context: str) -> str:
    """A value as the first format sealed it (HMAC-SHA256 counter mode + HMAC tag)."""
    enc = hmac.new(deployment_secret, b"riskwire/webhook-secrets/v1/encrypt", hashlib.sha256)
    mac = hmac.new(deployment_secret, b"riskwire/webhook-secrets/v1/authenticate", hashlib.sha256)
    nonce, data = secrets.token_bytes(16), plaintext.encode()
    stream = b"".join(
        hmac.new(enc.digest(), nonce + i.to_bytes(4, "big"), hashlib.sha256).digest()
        for i in range((len(data) + 31) // 32)
    )
    ct = bytes(a ^ b for a, b in zip(data, stream, strict=False))
    ctx = context.encode()
    tag = hmac.new(
        mac.digest(), b"v1" + len(ctx).to_bytes(2, "big") + ctx + nonce + ct, hashlib.sha256
    ).digest()
    return "v1." + base64.urlsafe_b64encode(nonce + ct + tag).decode()


def test_a_secret_is_sealed_with_aes_gcm_under_its_key_id() -> None:
    sealed = SecretBox.from_ring(NEW).seal(SECRET, context="01EP")
    version, kid, payload = sealed.split(".")
    assert (version, kid) == ("v2", "new")
    raw = base64.urlsafe_b64decode(payload)
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"riskwire/webhook-secrets/v2/aes-256-gcm/new",
    ).derive(b"n" * 40)
    aad = b"v2.new." + (4).to_bytes(2, "big") + b"01EP"
    assert AESGCM(key).decrypt(raw[:12], raw[12:], aad).decode() == SECRET
    assert SECRET[6:] not in sealed


def test_rotation_old_key_ids_still_open_and_the_new_key_seals() -> None:
    before = SecretBox.from_ring(OLD).seal(SECRET, context="01EP")
    rotated = SecretBox.from_ring(f"{NEW},{OLD}")
    assert rotated.open(before, context="01EP") == SECRET
    after = rotated.seal(SECRET, context="01EP")
    assert rotated.key_id(after) == "new"
    assert SecretBox.from_ring(NEW).open(after, context="01EP") == SECRET
    with pytest.raises(StoreError, match="not in the key ring"):
        SecretBox.from_ring(NEW).open(before, context="01EP")


def test_tampering_with_a_sealed_value_is_detected() -> None:
    box = SecretBox.from_ring(f"{NEW},{OLD}")
    sealed = box.seal(SECRET, context="01EP")
    assert box.seal(SECRET, context="01EP") != sealed  # a fresh nonce each time
    payload = sealed.split(".")[2]
    raw = bytearray(base64.urlsafe_b64decode(payload))
    for at in (0, 20, len(raw) - 1):  # nonce, ciphertext, tag
        bad = bytearray(raw)
        bad[at] ^= 1
        with pytest.raises(StoreError, match="authentication"):
            box.open(f"v2.new.{base64.urlsafe_b64encode(bytes(bad)).decode()}", context="01EP")
    with pytest.raises(StoreError, match="authentication"):
        box.open(f"v2.old.{payload}", context="01EP")  # relabelled with another key id
    with pytest.raises(StoreError, match="authentication"):
        box.open(sealed, context="01OTHER")  # copied onto another endpoint
    for garbage in ("garbage", "v2.new.", "v2.new.!!!!", "v1.AAAA"):
        with pytest.raises(StoreError):
            box.open(garbage, context="01EP")
    assert "n" * 40 not in repr(box)


def test_values_of_the_first_format_open_only_with_the_legacy_secret() -> None:
    old = legacy_seal(IDENTITY, SECRET, "01EP")
    with pytest.raises(StoreError):
        SecretBox.from_ring(NEW).open(old, context="01EP")
    box = SecretBox.from_ring(NEW, legacy_secret=IDENTITY)
    assert box.key_id(old) is None
    assert box.open(old, context="01EP") == SECRET
    with pytest.raises(StoreError, match="authentication"):
        box.open(old, context="01OTHER")


@pytest.mark.parametrize("env", ["test", "production"])
@pytest.mark.parametrize("dev", ["identity_secret", "sealing_keys", "audit_key"])
def test_every_development_secret_is_refused_outside_development(env: str, dev: str) -> None:
    chosen = {
        "identity_secret": "an-identity-secret-of-this-deployment",
        "sealing_keys": "k1:" + "s" * 40,
        "audit_key": "an-audit-key-of-this-deployment",
    }
    chosen[dev] = {
        "identity_secret": DEV_IDENTITY_SECRET,
        "sealing_keys": DEV_SEALING_KEYS,
        "audit_key": DEV_AUDIT_KEY,
    }[dev]
    with pytest.raises(ConfigError, match=f"RISKWIRE_{dev.upper()} must be set"):
        Settings(env=env, **chosen)  # type: ignore[arg-type]
    Settings(env="development", **chosen)  # type: ignore[arg-type]


def test_the_identity_secret_and_the_sealing_key_are_separate_settings() -> None:
    same = "one-secret-for-everything-of-40-chars-xx"
    with pytest.raises(ConfigError, match="must differ"):
        Settings(identity_secret=same, sealing_keys=f"k1:{same}")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs 32"):
        Settings(sealing_keys="k1:short")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="twice"):
        Settings(sealing_keys=f"k1:{'a' * 32},k1:{'b' * 32}")  # type: ignore[arg-type]
