"""Which network addresses a server may be sent to on someone else's say-so (SSRF, decision
0035): the assistant's page reader and rest_service's outgoing webhooks both refuse a host
unless every address it resolves to is public.

`GuardedResolver` makes the check at connection time, in the connector's own DNS lookup, so
a name that resolves to a public address when an admin saves it and to a private one later
(DNS rebinding) still reaches nothing private.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from common.infrastructure.http_client import per_step

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HostNotFound(OSError):
    """The host has no address (an OSError, so a connector reports a connection error)."""


class AddressRefused(OSError):
    """The host resolves to an address that is not public."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host} is a {reason} address")
        self.host, self.reason = host, reason


def why_not_public(address: IPAddress) -> str | None:
    """Why `address` is not public, or None. IPv6 forms that carry an IPv4 address
    (mapped, 6to4, Teredo) are judged by that address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address.teredo:
            inner = address.teredo[1]
        if inner is not None:
            return why_not_public(inner)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not global", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` has, each once (an IP literal is its own)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError) as exc:
        raise HostNotFound(f"the host {host!r} was not found") from exc
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not found:
        raise HostNotFound(f"the host {host!r} was not found")
    return list(dict.fromkeys(found))


def refuse_private(host: str, addresses: list[IPAddress]) -> None:
    """`AddressRefused` if any address is not public: which one a client picks is not ours
    to bet on, so one private record is enough."""
    for address in addresses:
        reason = why_not_public(address)
        if reason:
            raise AddressRefused(host, reason)


async def check_url(url: str, *, allow_private: bool) -> None:
    """The URL's host resolves, and (unless `allow_private`) only to public addresses."""
    try:
        parsed = URL(url)
        port = parsed.port or 443
    except (ValueError, TypeError) as exc:
        raise HostNotFound(f"not a URL a host can be read from ({exc})") from exc
    host = (parsed.raw_host or "").lower().rstrip(".")
    addresses = await resolve_host(host, port)
    if not allow_private:
        refuse_private(host, addresses)


class GuardedResolver(AbstractResolver):
    """A connector's DNS that answers only with public addresses (all of a host's, when
    `allow_private`). aiohttp skips the resolver for an IP literal: `check_url` covers it."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        name = host.lower().rstrip(".")
        addresses = await resolve_host(name, port)
        if not self.allow_private:
            refuse_private(name, addresses)
        return [_result(name, address, port) for address in addresses]

    async def close(self) -> None:
        return None


def guarded_session(timeout: float, *, allow_private: bool) -> aiohttp.ClientSession:
    """A session that connects only to public addresses; no proxy from the environment (a
    proxy would make the connection the guard cannot see)."""
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(allow_private=allow_private), use_dns_cache=False
    )
    return aiohttp.ClientSession(connector=connector, trust_env=False, timeout=per_step(timeout))


def _result(name: str, address: IPAddress, port: int) -> ResolveResult:
    return ResolveResult(
        hostname=name,
        host=str(address),
        port=port,
        family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
        proto=socket.IPPROTO_TCP,
        flags=socket.AI_NUMERICHOST,
    )
