"""Fetching a page a model named, without letting it reach our own network (SSRF).

Every hop (the first request and each redirect) is parsed, its host resolved, and refused
unless every address is public; the connection then goes to the address that was checked
(the connector's resolver answers only the name just checked, with that address; `Host`
and TLS SNI keep the name), so a DNS answer that changes between the check and the
connection (rebinding) reaches nothing new.
Bytes read, redirects and the time in all are capped; only HTML and plain text are read.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import socket
import ssl
from dataclasses import dataclass, field

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from common.infrastructure.address_guard import (
    HostNotFound,
    IPAddress,
    resolve_host,
    why_not_public,
)
from common.infrastructure.http_client import failure_name, per_step

SCHEMES = ("http", "https")
CONTENT_TYPES = ("text/html", "text/plain", "application/xhtml+xml")
MAX_URL_CHARS = 2048
_HEADERS = {
    "User-Agent": "SmartAssistant/1.0 (+read_page)",
    "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9",
    "Accept-Encoding": "gzip, deflate",
}
#: The statuses followed as redirects.
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchRefused(Exception):
    """The URL may not be fetched: a private or local address, a scheme other than http(s)."""


class FetchFailed(Exception):
    """The page could not be read: unreachable, an HTTP error, too slow, not text."""


@dataclass(frozen=True)
class FetchLimits:
    timeout: float
    max_bytes: int
    max_redirects: int
    #: `host` or `host:port` let through though private (local stand-ins in tests only).
    allow: frozenset[str] = field(default_factory=frozenset)
    #: Certificates to trust; None: the usual public ones (tests bring their own CA).
    trust: ssl.SSLContext | None = None

    @staticmethod
    def parse_allow(value: str) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in value.split(",") if e.strip())


@dataclass(frozen=True)
class Page:
    url: str
    content_type: str
    charset: str | None
    body: bytes
    #: The body was longer than `max_bytes`; `body` is its start.
    truncated: bool


@dataclass(frozen=True)
class Target:
    url: URL
    host: str
    port: int

    @classmethod
    def parse(cls, raw: str) -> Target:
        if len(raw) > MAX_URL_CHARS:
            raise FetchRefused(f"the URL is longer than {MAX_URL_CHARS} characters")
        try:
            url = URL(raw.strip())
            port = url.port or (443 if url.scheme == "https" else 80)
        except (ValueError, TypeError) as exc:
            raise FetchRefused(f"not a valid URL ({exc})") from exc
        if url.scheme not in SCHEMES:
            raise FetchRefused("only http and https links can be read")
        if not url.raw_host:
            raise FetchRefused("the URL has no host")
        if url.raw_user or url.raw_password:
            raise FetchRefused("links with a user name or password are not read")
        host = url.raw_host.lower().rstrip(".")
        return cls(url.with_fragment(None), host, port)

    def allowed(self, allow: frozenset[str]) -> bool:
        return self.host in allow or f"{self.host}:{self.port}" in allow

    def pinned(self, address: IPAddress) -> URL:
        return self.url.with_host(str(address))

    @property
    def host_header(self) -> str:
        return (self.url.raw_authority or "").rsplit("@", 1)[-1]

    def join(self, location: str) -> str:
        """Where a redirect's `Location` points, from this URL."""
        try:
            return str(self.url.join(URL(location)))
        except (ValueError, TypeError) as exc:
            raise FetchRefused(f"not a valid URL ({exc})") from exc


async def resolve(target: Target) -> list[IPAddress]:
    """Every address the host has (an IP literal is its own)."""
    try:
        return await resolve_host(target.host, target.port)
    except HostNotFound as exc:
        raise FetchFailed(str(exc)) from exc


async def checked_address(target: Target, allow: frozenset[str]) -> IPAddress:
    """The address to connect to; `FetchRefused` if any address of the host is not public
    (one private record is enough to refuse: which one a client picks is not ours to bet on)."""
    addresses = await resolve(target)
    if not target.allowed(allow):
        for address in addresses:
            reason = why_not_public(address)
            if reason:
                raise FetchRefused(
                    f"{target.host} is a {reason} address; only public web pages can be read"
                )
    return addresses[0]


async def fetch(raw_url: str, limits: FetchLimits) -> Page:
    """The page at `raw_url`, redirects followed under the same checks."""
    try:
        async with asyncio.timeout(limits.timeout):
            return await _fetch(raw_url, limits)
    except TimeoutError as exc:
        raise FetchFailed(f"the page did not answer within {limits.timeout:g} s") from exc


class PinnedResolver(AbstractResolver):
    """The connector's only DNS: the address checked for the hop's host, and nothing for
    any other name."""

    def __init__(self) -> None:
        self._pinned: tuple[str, IPAddress] | None = None

    def pin(self, target: Target, address: IPAddress) -> None:
        self._pinned = (target.host, address)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._pinned is None or host.lower().rstrip(".") != self._pinned[0]:
            raise OSError(f"{host!r} is not the host whose address was checked")
        name, address = self._pinned
        kind = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        return [
            ResolveResult(
                hostname=name,  # the name TLS is checked for (SNI)
                host=str(address),
                port=port,
                family=kind,
                proto=socket.IPPROTO_TCP,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        self._pinned = None


async def _fetch(raw_url: str, limits: FetchLimits) -> Page:
    url = raw_url
    resolver = PinnedResolver()
    # One session per page, no pooling, no DNS cache: each request connects anew, to the
    # address checked for its hop.
    connector = aiohttp.TCPConnector(
        resolver=resolver,
        use_dns_cache=False,
        force_close=True,
        ssl=limits.trust or _public_trust(),
    )
    async with aiohttp.ClientSession(
        connector=connector, trust_env=False, timeout=per_step(limits.timeout)
    ) as client:
        for _ in range(limits.max_redirects + 1):
            target = Target.parse(url)
            resolver.pin(target, await checked_address(target, limits.allow))
            page_or_next = await _get(client, target, limits)
            if isinstance(page_or_next, Page):
                return page_or_next
            url = page_or_next
    raise FetchFailed(f"more than {limits.max_redirects} redirects")


async def _get(client: aiohttp.ClientSession, target: Target, limits: FetchLimits) -> Page | str:
    """The page, or the URL a redirect points to."""
    headers = {**_HEADERS, "Host": target.host_header}
    try:
        async with client.get(target.url, headers=headers, allow_redirects=False) as response:
            if response.status in _REDIRECTS:
                location = response.headers.get("location", "")
                if not location:
                    raise FetchFailed(f"HTTP {response.status} without a Location")
                return target.join(location)
            if response.status >= 400:
                raise FetchFailed(f"the page answered HTTP {response.status}")
            content_type, charset = _content_type(response.headers.get("content-type", ""))
            if content_type not in CONTENT_TYPES:
                raise FetchFailed(
                    f"the link is {content_type or 'of no stated type'}, not a web page"
                )
            body, truncated = await _read(response, limits.max_bytes)
    except aiohttp.InvalidURL as exc:
        raise FetchRefused(f"not a valid URL ({exc})") from exc
    except aiohttp.ClientError as exc:
        raise FetchFailed(f"the page could not be read ({failure_name(exc)})") from exc
    return Page(str(target.url), content_type, charset, body, truncated)


@functools.cache
def _public_trust() -> ssl.SSLContext:
    """The public CAs, loaded once: a session per page must not load them per page."""
    return ssl.create_default_context()


async def _read(response: aiohttp.ClientResponse, max_bytes: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
    return b"".join(chunks), False


def _content_type(header: str) -> tuple[str, str | None]:
    kind, _, rest = header.partition(";")
    charset = None
    for part in rest.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            charset = _known_charset(value.strip().strip("\"'"))
    return kind.strip().lower(), charset


def _known_charset(name: str) -> str | None:
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None
