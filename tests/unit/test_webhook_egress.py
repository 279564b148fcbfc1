"""Where webhooks may go: the egress policy by address class, the check at registration,
and the check again at delivery on the address actually connected to (a name that
resolves to a public address when registered and to loopback when delivered to is
refused), with an injectable resolver and a real receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterable
from datetime import UTC, datetime
from ipaddress import ip_address, ip_network
from typing import Any

import httpcore
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from alerts.notify.base import Delivery, OutcomeKind, Reason
from alerts.notify.egress import (
    AddressClass,
    EgressGuard,
    EgressPolicy,
    GuardedBackend,
    IPAddress,
)
from alerts.notify.webhook import WebhookNotifier
from core.clock import FakeClock
from core.errors import ConfigError, EgressRefused
from core.settings import Settings

from .webhook_receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"egress-test-secret-24byte").decode()
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PUBLIC = ip_address("93.184.216.34")
EVERYTHING = EgressPolicy((ip_network("0.0.0.0/0"), ip_network("::/0")))
LOOPBACK = EgressPolicy((ip_network("127.0.0.0/8"),))


class Rebinding:
    """A resolver whose answers are scripted per name; the last answer repeats."""

    def __init__(self, answers: dict[str, list[list[IPAddress]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        script = self.answers.get(host)
        if not script:
            raise OSError(f"{host}: no such name")
        n = self.asked.count(host)
        return script[min(n, len(script)) - 1]


def delivery(url: str) -> Delivery:
    return Delivery(
        id="msg_01EP_01AL_1", endpoint_id="01EP", url=url, secret=SecretStr(SECRET), body=b"{}"
    )


ALWAYS = [
    ("169.254.169.254", AddressClass.METADATA),  # AWS, GCP, Azure, Huawei ...
    ("100.100.100.200", AddressClass.METADATA),  # Alibaba Cloud
    ("fd00:ec2::254", AddressClass.METADATA),
    ("::ffff:169.254.169.254", AddressClass.METADATA),
    ("169.254.0.23", AddressClass.LINK_LOCAL),  # Tencent Cloud's metadata, link-local
    ("fe80::1", AddressClass.LINK_LOCAL),
    ("0.0.0.0", AddressClass.UNROUTABLE),
    ("0.1.2.3", AddressClass.UNROUTABLE),
    ("::", AddressClass.UNROUTABLE),
    ("224.0.0.1", AddressClass.UNROUTABLE),
    ("255.255.255.255", AddressClass.UNROUTABLE),
]
UNLESS_ALLOWED = [
    ("127.0.0.1", AddressClass.LOOPBACK),
    ("127.8.9.10", AddressClass.LOOPBACK),
    ("::1", AddressClass.LOOPBACK),
    ("::ffff:127.0.0.1", AddressClass.LOOPBACK),
    ("64:ff9b::7f00:1", AddressClass.LOOPBACK),  # NAT64 of 127.0.0.1
    ("2002:7f00:1::1", AddressClass.LOOPBACK),  # 6to4 of 127.0.0.1
    ("10.1.2.3", AddressClass.PRIVATE),
    ("172.16.0.1", AddressClass.PRIVATE),
    ("192.168.1.1", AddressClass.PRIVATE),
    ("100.64.0.1", AddressClass.PRIVATE),  # shared address space (carrier NAT)
    ("fd12:3456::1", AddressClass.PRIVATE),
]


@pytest.mark.parametrize(("address", "kind"), ALWAYS)
def test_link_local_metadata_and_unroutable_addresses_are_refused_even_when_allowed(
    address: str, kind: AddressClass
) -> None:
    assert EgressPolicy().refusal(ip_address(address)) is kind
    assert EVERYTHING.refusal(ip_address(address)) is kind


@pytest.mark.parametrize(("address", "kind"), UNLESS_ALLOWED)
def test_loopback_and_private_addresses_are_refused_unless_allowed(
    address: str, kind: AddressClass
) -> None:
    assert EgressPolicy().refusal(ip_address(address)) is kind
    assert EVERYTHING.refusal(ip_address(address)) is None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert EgressPolicy().refusal(ip_address(address)) is None


def test_an_allowed_network_admits_only_itself() -> None:
    assert LOOPBACK.refusal(ip_address("127.0.0.1")) is None
    assert LOOPBACK.refusal(ip_address("::ffff:127.0.0.1")) is None
    assert LOOPBACK.refusal(ip_address("::1")) is AddressClass.LOOPBACK
    assert LOOPBACK.refusal(ip_address("10.0.0.1")) is AddressClass.PRIVATE


def settings(**values: Any) -> Settings:
    return Settings(
        identity_secret=SecretStr("egress-test-identity-secret"),
        sealing_keys=SecretStr("egress:egress-test-sealing-key-of-32-chars"),
        audit_key=SecretStr("egress-test-audit-key"),
        **values,
    )


def test_the_setting_takes_cidrs_and_development_allows_loopback_saying_so() -> None:
    given = settings(env="test", webhook_allowed_networks="10.8.0.0/16, 127.0.0.1")
    policy = EgressPolicy.from_settings(given)
    assert policy.allowed == (ip_network("10.8.0.0/16"), ip_network("127.0.0.1/32"))
    assert EgressPolicy.from_settings(settings(env="test")).allowed == ()
    with capture_logs() as logs:
        dev = EgressPolicy.from_settings(settings(env="development"))
    assert dev.refusal(ip_address("127.0.0.1")) is None
    assert dev.refusal(ip_address("10.0.0.1")) is AddressClass.PRIVATE
    assert any("loopback" in entry["event"] for entry in logs)
    with pytest.raises(ConfigError, match="not a CIDR"):
        settings(webhook_allowed_networks="10.0.0.0/8,intranet")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/api/v1/alerts",
        "http://[::1]/x",
        "http://localhost:8000/x",
        "http://api.localhost/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/x",
        "http://2130706433/x",  # 127.0.0.1 as one number
        "http://0x7f.1/x",
        "http://intranet.bureau.test/x",  # resolves to a private address
        "http://dual.bureau.test/x",  # one public and one private address
    ],
)
async def test_registration_refuses_a_url_that_reaches_a_forbidden_address(url: str) -> None:
    resolver = Rebinding(
        {
            "intranet.bureau.test": [[ip_address("192.168.10.5")]],
            "dual.bureau.test": [[PUBLIC, ip_address("10.0.0.7")]],
            "2130706433": [[ip_address("127.0.0.1")]],  # what getaddrinfo answers
            "0x7f.1": [[ip_address("127.0.0.1")]],
        }
    )
    with pytest.raises(EgressRefused) as refused:
        await EgressGuard(EgressPolicy(), resolver).check_url(url)
    assert "127.0.0.1" not in str(refused.value)  # the class, never the address


async def test_registration_accepts_public_and_not_yet_resolvable_names() -> None:
    guard = EgressGuard(EgressPolicy(), Rebinding({"hooks.bureau.test": [[PUBLIC]]}))
    await guard.check_url("https://hooks.bureau.test/webhooks")
    await guard.check_url("https://not-yet.bureau.test/webhooks")  # checked at delivery


async def test_a_name_that_rebinds_to_loopback_is_refused_at_delivery(
    receiver: Receiver,
) -> None:
    name = "hooks.bureau.test"
    resolver = Rebinding({name: [[PUBLIC], [ip_address("127.0.0.1")]]})
    guard = EgressGuard(EgressPolicy(), resolver)
    url = f"http://{name}:{receiver.port}/status/204"
    await guard.check_url(url)  # registered: public then
    notifier = WebhookNotifier(FakeClock(START), timeout_s=2, egress=guard)
    try:
        outcome = await notifier.deliver(delivery(url))
    finally:
        await notifier.aclose()
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, Reason.FORBIDDEN_ADDRESS)
    assert (outcome.status_code, outcome.latency_ms) == (None, 0)  # nothing to scan with
    assert receiver.requests == []
    assert resolver.asked == [name, name]


async def test_delivery_connects_to_the_checked_address_under_the_url_s_name(
    receiver: Receiver,
) -> None:
    name = "hooks.bureau.test"
    resolver = Rebinding({name: [[ip_address("127.0.0.1")]]})
    notifier = WebhookNotifier(
        FakeClock(START), timeout_s=2, egress=EgressGuard(LOOPBACK, resolver)
    )
    try:
        outcome = await notifier.deliver(delivery(f"http://{name}:{receiver.port}/status/204"))
    finally:
        await notifier.aclose()
    assert outcome.delivered
    (got,) = receiver.to("/status/204")
    assert got.headers["host"] == f"{name}:{receiver.port}"
    assert resolver.asked == [name]  # resolved once, for the connection


class _Recording(httpcore.AsyncNetworkBackend):
    """Records where the guarded backend connects and the name TLS is started with."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []
        self.tls_names: list[str | None] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        backend = self

        class Stream(httpcore.AsyncNetworkStream):
            async def start_tls(
                self,
                ssl_context: ssl.SSLContext,
                server_hostname: str | None = None,
                timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
            ) -> httpcore.AsyncNetworkStream:
                backend.tls_names.append(server_hostname)
                raise httpcore.ConnectError("recorded, not connected")

            async def aclose(self) -> None:
                pass

        return Stream()


async def test_tls_is_started_with_the_url_s_name_on_the_checked_address() -> None:
    name = "hooks.bureau.test"
    recording = _Recording()
    guard = EgressGuard(EgressPolicy(), Rebinding({name: [[PUBLIC]]}))
    async with httpcore.AsyncConnectionPool(
        network_backend=GuardedBackend(guard, inner=recording)
    ) as pool:
        with pytest.raises(httpcore.ConnectError, match="recorded"):
            await pool.request("POST", f"https://{name}:8443/hooks")
    assert recording.connected == [(str(PUBLIC), 8443)]  # the address that was checked
    assert recording.tls_names == [name]  # SNI and the certificate check: the name
