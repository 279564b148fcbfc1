"""Webhooks, the Standard Webhooks way (``api.md``).

Each request carries ``webhook-id`` (the same on every retry, so the receiver deduplicates
on it), ``webhook-timestamp`` (seconds, this attempt) and ``webhook-signature``: ``v1,`` and
the base64 HMAC-SHA256 of ``id.timestamp.body``, keyed with the endpoint's secret. As in
the Standard Webhooks libraries, a ``whsec_`` secret is the base64 of its key bytes, so a
receiver can verify with any of them.

>>> sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
...      1614265330, b'{"test": 2432232314}')
'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Final

import httpx

from alerts.notify.base import Delivery, Outcome, OutcomeKind, Reason, outcome_for_status
from alerts.notify.egress import EgressGuard, GuardedTransport
from core.clock import Clock
from core.errors import EgressRefused

SECRET_PREFIX: Final = "whsec_"
SECRET_KEY_BYTES: Final = 24  # generated secrets; accepted ones hold 24 to 64 key bytes
DEFAULT_TIMEOUT_S: Final = 10.0
USER_AGENT: Final = "riskwire-webhooks/1"


def generate_secret() -> str:
    """A new endpoint secret: ``whsec_`` and the base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_KEY_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; ``ValueError`` (never echoing it) otherwise."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("a webhook secret holds 24 to 64 key bytes")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of one message."""
    signed = b"%s.%d.%s" % (msg_id.encode(), timestamp, body)
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, *, now_s: float, tolerance_s: int = 300
) -> str:
    """The ``webhook-id`` of a correctly signed, fresh message; ``ValueError`` otherwise.

    The signature header may list several space-separated signatures (secret rotation);
    one valid ``v1`` signature is enough. Comparison is constant-time.
    """
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit():
        raise ValueError("missing webhook-id or webhook-timestamp")
    if abs(now_s - int(stamp)) > tolerance_s:
        raise ValueError("webhook-timestamp outside the tolerance")
    expected = sign(secret, msg_id, int(stamp), body).encode()
    offered = headers.get("webhook-signature", "").split()
    if not any(hmac.compare_digest(expected, s.encode()) for s in offered):
        raise ValueError("no valid signature")
    return msg_id


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


class WebhookNotifier:
    """POSTs the delivery's body, signed; at most ``timeout_s`` per attempt, all phases
    together (a receiver that trickles its answer is cut off like one that never answers).
    Every connection goes through ``egress`` (by default: public addresses only); a refused
    destination is a permanent failure whose outcome names the class of address, never the
    address, and carries no status or latency.
    """

    name = "webhook"

    def __init__(
        self,
        clock: Clock,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        egress: EgressGuard | None = None,
        max_connections: int = 64,
    ) -> None:
        self._clock = clock
        self._timeout_s = timeout_s
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=16)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            transport=GuardedTransport(egress or EgressGuard(), limits),
            follow_redirects=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def headers(self, delivery: Delivery) -> dict[str, str]:
        stamp = int(self._clock.now().timestamp())
        secret = delivery.secret.get_secret_value()
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery.id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(secret, delivery.id, stamp, delivery.body),
        }

    async def deliver(self, delivery: Delivery) -> Outcome:
        started = self._clock.monotonic()

        def failed(kind: OutcomeKind, reason: Reason) -> Outcome:
            return Outcome(kind, reason, latency_ms=self._elapsed_ms(started))

        try:
            headers = self.headers(delivery)
        except ValueError:
            return failed(OutcomeKind.PERMANENT, Reason.BAD_CONFIG)
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._client.post(
                    delivery.url, content=delivery.body, headers=headers
                )
        except EgressRefused:
            return Outcome(OutcomeKind.PERMANENT, Reason.FORBIDDEN_ADDRESS)
        except (TimeoutError, httpx.TimeoutException):
            return failed(OutcomeKind.RETRYABLE, Reason.TIMEOUT)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            return failed(OutcomeKind.PERMANENT, Reason.BAD_CONFIG)
        except httpx.ConnectError:
            return failed(OutcomeKind.RETRYABLE, Reason.CONNECTION)
        except httpx.HTTPError:
            return failed(OutcomeKind.RETRYABLE, Reason.NETWORK)
        return outcome_for_status(
            response.status_code,
            latency_ms=self._elapsed_ms(started),
            retry_after_s=_retry_after(response),
        )

    def _elapsed_ms(self, started: float) -> int:
        return max(0, round((self._clock.monotonic() - started) * 1000))
