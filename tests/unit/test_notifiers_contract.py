"""The contract every notifier passes (Alertmanager's ``notify/test``): the retry mapping
against a real HTTP server on 127.0.0.1, and no secret (nor the URL, which may carry a
token) in any outcome, repr or description. Then the Standard Webhooks signature, checked
against the published test vector and an HMAC computed here independently, its
verification, and the sealing of secrets at rest.
"""

from __future__ import annotations

import base64
import doctest
import hashlib
import hmac
import importlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from alerts.notify.base import Delivery, Notifier, Outcome, OutcomeKind, Reason
from alerts.notify.webhook import WebhookNotifier, generate_secret, secret_key, sign, verify
from core.clock import Clock, FakeClock

from .webhook_receiver import LOOPBACK_ALLOWED, Receiver

SECRET = "whsec_" + base64.b64encode(b"contract-suite-secret-24b").decode()
URL_TOKEN = "urltoken-d41d8cd9"
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TIMEOUT_S = 0.5

# Every notifier, built for a clock and an attempt timeout. A new channel adds itself here.
NOTIFIERS: dict[str, Callable[[Clock, float], Notifier]] = {
    "webhook": lambda clock, timeout_s: WebhookNotifier(
        clock, timeout_s=timeout_s, egress=LOOPBACK_ALLOWED
    ),
}


@pytest.fixture(params=sorted(NOTIFIERS))
async def notifier(request: pytest.FixtureRequest) -> AsyncIterator[Notifier]:
    built = NOTIFIERS[request.param](FakeClock(START), TIMEOUT_S)
    yield built
    close = getattr(built, "aclose", None)
    if close is not None:
        await close()


def delivery(url: str, body: bytes = b'{"type":"alert"}') -> Delivery:
    return Delivery(
        id="msg_01EP_01AL_1",
        endpoint_id="01EP",
        url=url,
        secret=SecretStr(SECRET),
        body=body,
    )


def assert_nothing_secret(d: Delivery, outcome: Outcome) -> None:
    for text in (repr(d), str(d), repr(outcome), str(outcome), outcome.describe()):
        assert SECRET not in text
        assert SECRET[len("whsec_") :] not in text
        assert URL_TOKEN not in text
        assert "127.0.0.1" not in text


# api.md: a failed delivery is retried for at least 24 hours. Every answer but a 2xx is a
# failure and retried, except 410 Gone: the receiver says the endpoint is no more.
MAPPING = [
    (200, OutcomeKind.DELIVERED, None),
    (201, OutcomeKind.DELIVERED, None),
    (204, OutcomeKind.DELIVERED, None),
    (302, OutcomeKind.RETRYABLE, Reason.REDIRECTED),
    (400, OutcomeKind.RETRYABLE, Reason.REJECTED),
    (401, OutcomeKind.RETRYABLE, Reason.REJECTED),
    (403, OutcomeKind.RETRYABLE, Reason.REJECTED),
    (404, OutcomeKind.RETRYABLE, Reason.REJECTED),
    (410, OutcomeKind.PERMANENT, Reason.GONE),
    (422, OutcomeKind.RETRYABLE, Reason.REJECTED),
    (408, OutcomeKind.RETRYABLE, Reason.REQUEST_TIMEOUT),
    (429, OutcomeKind.RETRYABLE, Reason.RATE_LIMITED),
    (500, OutcomeKind.RETRYABLE, Reason.SERVER_ERROR),
    (503, OutcomeKind.RETRYABLE, Reason.SERVER_ERROR),
]


@pytest.mark.parametrize(("status", "kind", "reason"), MAPPING)
async def test_retry_mapping_of_http_answers(
    notifier: Notifier, receiver: Receiver, status: int, kind: OutcomeKind, reason: Reason | None
) -> None:
    d = delivery(receiver.url(f"/status/{status}?token={URL_TOKEN}"))
    outcome = await notifier.deliver(d)
    assert (outcome.kind, outcome.reason, outcome.status_code) == (kind, reason, status)
    assert len(receiver.to(f"/status/{status}")) == 1
    assert_nothing_secret(d, outcome)


async def test_a_receiver_asking_to_wait_is_heard(notifier: Notifier, receiver: Receiver) -> None:
    outcome = await notifier.deliver(delivery(receiver.url("/status/429")))
    assert outcome.retryable
    assert outcome.retry_after_s == 30


async def test_a_timeout_is_retryable_and_bounded(notifier: Notifier, receiver: Receiver) -> None:
    d = delivery(receiver.url(f"/sleep/30?token={URL_TOKEN}"))
    started = time.monotonic()
    outcome = await notifier.deliver(d)
    assert time.monotonic() - started < TIMEOUT_S + 1.5
    assert (outcome.kind, outcome.reason) == (OutcomeKind.RETRYABLE, Reason.TIMEOUT)
    assert_nothing_secret(d, outcome)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens


async def test_connection_refused_is_retryable(notifier: Notifier) -> None:
    d = delivery(f"http://127.0.0.1:{_closed_port()}/hook?token={URL_TOKEN}")
    outcome = await notifier.deliver(d)
    assert (outcome.kind, outcome.reason) == (OutcomeKind.RETRYABLE, Reason.CONNECTION)
    assert_nothing_secret(d, outcome)


async def test_an_unusable_url_is_permanent(notifier: Notifier) -> None:
    outcome = await notifier.deliver(delivery(f"ftp://127.0.0.1/x?token={URL_TOKEN}"))
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, Reason.BAD_CONFIG)


async def test_a_bad_secret_is_permanent_and_not_echoed(
    notifier: Notifier, receiver: Receiver
) -> None:
    bad = Delivery(
        id="msg_x",
        endpoint_id="x",
        url=receiver.url("/status/200"),
        secret=SecretStr("nope!"),
        body=b"{}",
    )
    outcome = await notifier.deliver(bad)
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, Reason.BAD_CONFIG)
    assert "nope!" not in repr(outcome) + repr(bad)
    assert receiver.requests == []


# ---------------------------------------------------------------- the signature


def test_sign_matches_the_standard_webhooks_test_vector() -> None:
    # Published with the Standard Webhooks specification.
    assert (
        sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_sign_matches_an_hmac_computed_here() -> None:
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = '{"alert":{"title":"税务欠缴"}}'.encode()
    expected = hmac.new(key, b"msg_abc.1700000000." + body, hashlib.sha256).digest()
    assert sign(secret, "msg_abc", 1700000000, body) == "v1," + base64.b64encode(expected).decode()


async def test_webhook_requests_carry_the_standard_headers(receiver: Receiver) -> None:
    clock = FakeClock(START)
    notifier = WebhookNotifier(clock, timeout_s=TIMEOUT_S, egress=LOOPBACK_ALLOWED)
    body = b'{"type":"alert","change":"created","alert":{"alert_id":"01AL"}}'
    try:
        assert (await notifier.deliver(delivery(receiver.url("/status/204"), body))).delivered
        clock.advance(60)
        assert (await notifier.deliver(delivery(receiver.url("/status/204"), body))).delivered
    finally:
        await notifier.aclose()
    first, retry = receiver.to("/status/204")
    for got, stamp in ((first, START.timestamp()), (retry, START.timestamp() + 60)):
        assert got.body == body
        assert got.headers["content-type"] == "application/json"
        assert got.headers["webhook-id"] == "msg_01EP_01AL_1"  # stable across retries
        assert got.headers["webhook-timestamp"] == str(int(stamp))
        signed = f"msg_01EP_01AL_1.{int(stamp)}.".encode() + body
        mac = hmac.new(base64.b64decode(SECRET[6:]), signed, hashlib.sha256).digest()
        assert got.headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()


def _signed(secret: str, body: bytes, stamp: int, msg_id: str = "msg_1") -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, msg_id, stamp, body),
    }


def test_verify_accepts_a_fresh_signed_message_and_refuses_the_rest() -> None:
    now = 1_800_000_000
    body = b'{"alert_id":"01AL","kind":"received"}'
    assert verify(SECRET, _signed(SECRET, body, now), body, now_s=now) == "msg_1"
    assert verify(SECRET, _signed(SECRET, body, now - 299), body, now_s=now) == "msg_1"
    other = generate_secret()
    rotated = _signed(SECRET, body, now)
    rotated["webhook-signature"] = (
        sign(other, "msg_1", now, body) + " " + rotated["webhook-signature"]
    )
    assert verify(SECRET, rotated, body, now_s=now) == "msg_1"
    refused = [
        (_signed(SECRET, body, now), body + b" "),  # body changed
        (_signed(other, body, now), body),  # another secret
        (_signed(SECRET, body, now - 301), body),  # stale
        (_signed(SECRET, body, now + 301), body),  # from the future
        ({"webhook-id": "msg_1", "webhook-timestamp": str(now)}, body),  # unsigned
        ({}, body),
    ]
    for headers, sent in refused:
        with pytest.raises(ValueError, match=r"signature|timestamp|webhook-id") as caught:
            verify(SECRET, headers, sent, now_s=now)
        assert SECRET[6:] not in str(caught.value)


def test_generated_secrets_are_whsec_base64_of_24_bytes() -> None:
    secrets = {generate_secret() for _ in range(20)}
    assert len(secrets) == 20
    for s in secrets:
        assert s.startswith("whsec_")
        assert len(secret_key(s)) == 24


@pytest.mark.parametrize(
    "bad", ["plain-secret-value-1234567890", "whsec_not*base64!", "whsec_" + "QUFB" * 2]
)
def test_unusable_secrets_are_refused_without_being_echoed(bad: str) -> None:
    with pytest.raises(ValueError, match=r"whsec_|key bytes") as caught:
        secret_key(bad)
    assert bad not in str(caught.value)
    assert bad[6:] not in str(caught.value)


# Secrets at rest (alerts.notify.sealing): tests/unit/test_sealing.py.


@pytest.mark.parametrize(
    "module",
    [
        "alerts.notify.base",
        "alerts.notify.webhook",
        "alerts.notify.sealing",
        "alerts.notify.queue",
        "alerts.notify.deliveries",
        "alerts.notify.limits",
        "alerts.notify.egress",
        "alerts.subscriptions",
        "alerts.routing",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    # alerts/ is outside the doctest paths of pytest's configuration; run them here.
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0
