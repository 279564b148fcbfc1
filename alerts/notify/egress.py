"""Where a webhook may go: the egress policy, checked when an endpoint is registered and
again on the resolved address of every connection (DNS rebinding).

An address is classed (:class:`AddressClass`); link-local, cloud metadata and unroutable
addresses are refused whatever the settings say; loopback and private addresses are refused
unless ``RISKWIRE_WEBHOOK_ALLOWED_NETWORKS`` lists a network holding them; public addresses
are allowed. IPv4 addresses embedded in IPv6 ones (mapped, 6to4, NAT64) are judged as IPv4.

>>> policy = EgressPolicy()
>>> policy.refusal(ip_address("169.254.169.254"))
<AddressClass.METADATA: 'metadata'>
>>> policy.refusal(ip_address("::ffff:127.0.0.1"))
<AddressClass.LOOPBACK: 'loopback'>
>>> EgressPolicy((ip_network("127.0.0.0/8"),)).refusal(ip_address("127.0.0.1")) is None
True
>>> policy.refusal(ip_address("93.184.216.34")) is None
True

:class:`EgressGuard` adds the resolver (injectable: tests play a rebinding name) and
:class:`GuardedBackend` is the httpcore network backend that resolves a host once, checks
every address, and connects to a checked address; TLS and ``Host`` keep the URL's name.
"""

from __future__ import annotations

import asyncio
import enum
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Final, Protocol
from urllib.parse import urlsplit

import httpcore
import httpx

from core.errors import EgressRefused
from core.settings import Settings
from core.telemetry import get_logger

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
log = get_logger(__name__)


class AddressClass(enum.StrEnum):
    PUBLIC = "public"
    LOOPBACK = "loopback"  # refused unless allowed
    PRIVATE = "private"  # RFC 1918, shared (100.64/10), unique local, other non-global
    LINK_LOCAL = "link_local"  # always refused
    METADATA = "metadata"  # always refused: cloud instance metadata and host services
    UNROUTABLE = "unroutable"  # always refused: unspecified, multicast, reserved, broadcast


ALWAYS_REFUSED: Final = frozenset(
    {AddressClass.LINK_LOCAL, AddressClass.METADATA, AddressClass.UNROUTABLE}
)
# Metadata services outside 169.254.0.0/16 (which is link-local, refused anyway).
METADATA_ADDRESSES: Final = frozenset(
    ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Huawei Cloud ...
        "169.254.170.2",  # AWS container credentials
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure host services
        "192.0.0.192",  # Oracle Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)
DEVELOPMENT_NETWORKS: Final = (ip_network("127.0.0.0/8"), ip_network("::1/128"))
NAT64: Final = ip_network("64:ff9b::/96")
THIS_NETWORK: Final = ip_network("0.0.0.0/8")  # Linux connects 0.x to this host
BROADCAST: Final = IPv4Address("255.255.255.255")
RESOLVE_TIMEOUT_S: Final = 5.0


def embedded_ipv4(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), else ``ip`` itself."""
    if isinstance(ip, IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in NAT64:
            return IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def classify(ip: IPAddress) -> AddressClass:
    ip = embedded_ipv4(ip)
    if ip in METADATA_ADDRESSES:
        return AddressClass.METADATA
    if ip.is_link_local:
        return AddressClass.LINK_LOCAL
    if ip.is_unspecified or ip.is_multicast or ip in THIS_NETWORK or ip == BROADCAST:
        return AddressClass.UNROUTABLE
    if ip.is_loopback:
        return AddressClass.LOOPBACK
    if ip.is_global:
        return AddressClass.PUBLIC
    if ip.is_reserved:
        return AddressClass.UNROUTABLE
    return AddressClass.PRIVATE


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Which non-public networks webhooks may reach (none by default)."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        """``RISKWIRE_WEBHOOK_ALLOWED_NETWORKS``; when unset, loopback in development (so a
        receiver on this machine works, and a warning says so) and nothing otherwise."""
        if settings.webhook_allowed_networks is not None:
            return cls(
                tuple(ip_network(n, strict=False) for n in settings.webhook_allowed_networks)
            )
        if settings.env == "development":
            log.warning(
                "development: webhooks may reach loopback addresses; "
                "set RISKWIRE_WEBHOOK_ALLOWED_NETWORKS to choose",
                networks=[str(n) for n in DEVELOPMENT_NETWORKS],
            )
            return cls(DEVELOPMENT_NETWORKS)
        return cls()

    def refusal(self, ip: IPAddress) -> AddressClass | None:
        """Why ``ip`` may not be reached, or ``None`` when it may."""
        kind = classify(ip)
        if kind is AddressClass.PUBLIC:
            return None
        if kind in ALWAYS_REFUSED:
            return kind
        candidates = {ip, embedded_ipv4(ip)}
        if any(a in net for net in self.allowed for a in candidates if a.version == net.version):
            return None
        return kind


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses of ``host``; ``OSError`` when it has none."""
        ...


class SystemResolver:
    """The operating system's resolver (``getaddrinfo``), bounded in time."""

    def __init__(self, timeout_s: float = RESOLVE_TIMEOUT_S) -> None:
        self._timeout_s = timeout_s

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout_s):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise OSError(f"resolving took longer than {self._timeout_s}s") from None
        return _unique(ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos)


def _unique(addresses: Iterable[IPAddress]) -> list[IPAddress]:
    return list(dict.fromkeys(addresses))


def literal_address(host: str) -> IPAddress | None:
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class EgressGuard:
    policy: EgressPolicy = EgressPolicy()
    resolver: Resolver = field(default_factory=SystemResolver)

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """Every address of ``host``, all allowed; ``EgressRefused`` if any is not (a name
        that answers a public and a private address is refused), ``OSError`` if none."""
        literal = literal_address(host)
        found = [literal] if literal is not None else await self.resolver.resolve(host, port)
        if not found:
            raise OSError(f"{host} has no address")
        for ip in found:
            kind = self.policy.refusal(ip)
            if kind is not None:
                raise EgressRefused(kind.value)
        return found

    async def check_url(self, url: str) -> None:
        """At registration: ``EgressRefused`` for a URL whose host is, or resolves to, an
        address webhooks may not reach. A name that does not resolve yet is accepted: every
        delivery checks again."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host == "localhost" or host.endswith(".localhost"):
            host = "127.0.0.1"  # RFC 6761: always loopback, whatever a resolver says
        try:
            await self.addresses(host, parts.port or (443 if parts.scheme == "https" else 80))
        except OSError:
            return


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, checks every address, connects to a checked one (the next on failure).
    TLS is started by httpcore with the URL's host name, so SNI and the certificate check,
    like the ``Host`` header, are the name's, never the address's."""

    def __init__(self, guard: EgressGuard, inner: httpcore.AsyncNetworkBackend | None = None):
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            found = await self._guard.addresses(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"resolving failed: {exc}") from None
        error: Exception = httpcore.ConnectError("no address")
        for ip in found:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefused("unix_socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a connection pool whose every connection goes through
    :class:`GuardedBackend`. No proxy, no environment: the check is made on the address
    actually connected to."""

    def __init__(self, guard: EgressGuard, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard),
        )
