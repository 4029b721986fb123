"""Where webhooks may go: public addresses, and the private networks an operator lists.

An integrator chooses the URL, so without a check the service would POST wherever it is
told: its own loopback, the cloud's metadata address, the office network behind it. Every
connection is checked when it is made, on the addresses the name resolves to then (so a name
that changes its answer after the subscription was made is caught too), and the connection
goes to the address that was checked. A URL naming a refused address outright is refused
when the subscription is made or changed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Names that mean this machine without asking DNS.
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class TargetRefusedError(Exception):
    """The webhook's host is, or resolves to, an address deliveries may not go to."""


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """Public unicast addresses, plus `allowed_networks` (e.g. a case-management subnet)."""

    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_networks(cls, networks: Iterable[str]) -> TargetPolicy:
        """A policy allowing these CIDR networks (e.g. "10.20.0.0/16") besides the public ones."""
        return cls(tuple(ipaddress.ip_network(network, strict=False) for network in networks))

    def check_address(self, address: IPAddress) -> None:
        """Raise `TargetRefusedError` unless deliveries may go to `address`."""
        if any(address in network for network in self.allowed_networks):
            return
        if address.is_global and not address.is_multicast:
            return
        raise TargetRefusedError(
            f"{address} is a {_kind(address)} address; webhooks go only to public addresses "
            "and to the networks in SWITCHBOARD_WEBHOOK_ALLOWED_NETWORKS"
        )

    def check_url(self, url: str) -> None:
        """Refuse a URL whose host is a refused address or a name for this machine; other
        names are checked when a delivery connects (they may not resolve from here yet)."""
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
        if host in _LOCAL_NAMES or host.endswith(".localhost"):
            self.check_address(ipaddress.ip_address("127.0.0.1"))
            return
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return
        self.check_address(address)

    async def resolve(self, host: str, port: int) -> str:
        """The address to connect to for `host`: every address it resolves to must be
        allowed (one refused is enough to refuse), and the first is used."""
        try:
            return _checked(self, [ipaddress.ip_address(host)])
        except ValueError:
            pass
        loop = asyncio.get_running_loop()
        try:
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        return _checked(self, [ipaddress.ip_address(info[4][0]) for info in found])


def _checked(policy: TargetPolicy, addresses: Sequence[IPAddress]) -> str:
    for address in addresses:
        policy.check_address(address)
    return str(addresses[0])


def _kind(address: IPAddress) -> str:
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    return "reserved"


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy allows, the one it checked."""

    def __init__(self, policy: TargetPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    # The signatures are httpcore's, `timeout` included.
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            address = await self._policy.resolve(host, port)
        except TargetRefusedError as exc:
            raise httpcore.ConnectError(f"refused: {exc}") from exc
        # TLS still names and verifies `host`: httpcore takes it from the URL, not from here.
        return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks go over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, its connections made through the policy's check; no proxies."""

    def __init__(self, policy: TargetPolicy, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx offers no way to pass a network backend: its pool is replaced by one that
        # has ours (tests/webhooks/test_targets.py would catch an httpx that changed this).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(policy),
        )
