"""A client of one MCP server (streamable HTTP, or a stdio server the operator named in
`MCP_STDIO_SERVERS`), one session per request: `tools/list` and `tools/call`, every failure
an `McpError` with words the model or the log can use. The server's config comes from the
admin, never from the model; what may run and be reached comes from the operator: a stdio
server starts confined (clients/mcp_stdio.py), an HTTP server's address obeys `read_page`'s
rules (clients/web_fetch.py) unless `MCP_HTTP_ALLOW_HOSTS` names its host."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from assistant.src.clients.mcp_stdio import (
    StdioLimits,
    StdioOverflow,
    StdioRefused,
    confined_stdio,
)
from assistant.src.clients.web_fetch import (
    FetchFailed,
    FetchLimits,
    FetchRefused,
    Target,
    checked_address,
)
from assistant.src.settings import Settings
from common.features.mcp_servers import StdioServer

if TYPE_CHECKING:  # the SDK is imported on the first call (0.7 s of the assistant's start)
    from mcp import ClientSession
    from mcp_types import CallToolResult

#: How much of one result the model reads.
MAX_RESULT_CHARS = 20_000


class McpError(Exception):
    """The server could not be reached, failed, or answered with an error."""


@dataclass(frozen=True)
class McpRules:
    """What the operator allows: the stdio servers by name and their limits, and the
    private HTTP hosts an MCP server may be on."""

    stdio_servers: Mapping[str, StdioServer] = field(default_factory=dict)
    stdio: StdioLimits = field(default_factory=lambda: StdioLimits("", 2**30, 30, 2**22))
    http_allow: frozenset[str] = frozenset()

    @classmethod
    def of(cls, settings: Settings) -> McpRules:
        limits = StdioLimits(
            user=settings.mcp_stdio_user,
            memory_bytes=settings.mcp_stdio_memory_mb * 2**20,
            cpu_seconds=settings.mcp_stdio_cpu_seconds,
            max_output_bytes=settings.mcp_stdio_max_output_bytes,
        )
        allow = FetchLimits.parse_allow(settings.mcp_http_allow_hosts)
        return cls(settings.mcp_stdio_servers, limits, allow)


@dataclass(frozen=True)
class McpServerConfig:
    """What the admin stored: an http(s) URL, or the name of an operator's stdio server."""

    transport: Literal["http", "stdio"]
    url: str | None = None
    server: str = ""

    @classmethod
    def from_json(cls, config: dict[str, Any]) -> McpServerConfig:
        transport = config.get("transport")
        if transport == "http" and isinstance(config.get("url"), str):
            return cls("http", url=config["url"])
        if transport == "stdio" and isinstance(config.get("server"), str):
            return cls("stdio", server=config["server"])
        raise McpError("the tool's MCP config is invalid")


@dataclass(frozen=True)
class McpToolInfo:
    name: str
    description: str
    input_schema: dict[str, Any]


class McpClient:
    def __init__(
        self, config: McpServerConfig, timeout: float, rules: McpRules | None = None
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.rules = rules or McpRules()

    async def list_tools(self) -> list[McpToolInfo]:
        async with self._session() as session:
            result = await session.list_tools()
        return [
            McpToolInfo(tool.name, tool.description or tool.name, dict(tool.input_schema))
            for tool in result.tools
        ]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> str:
        """The text content of the result; `McpError` when the server says the call failed."""
        async with self._session() as session:
            result = await session.call_tool(name, arguments)
        text = _text(result)
        if result.is_error:
            raise McpError(text or "the MCP tool reported an error")
        return text

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[ClientSession]:
        """A connected, initialized session; transport and protocol failures as `McpError`."""
        await _load_sdk()  # before the call's timeout starts: an import is not the server's time
        from mcp import ClientSession

        try:
            async with (
                asyncio.timeout(self.timeout),
                self._transport() as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                yield session
        except McpError:
            raise
        except TimeoutError as exc:
            raise McpError(f"the MCP server did not answer within {self.timeout:g} s") from exc
        except (Exception, ExceptionGroup) as exc:
            cause = _innermost(exc)
            if isinstance(cause, McpError | StdioRefused | StdioOverflow):
                raise McpError(str(cause)) from exc
            raise McpError(f"the MCP server failed: {_reason(exc)}") from exc

    @asynccontextmanager
    async def _transport(self) -> AsyncIterator[Any]:
        if self.config.transport == "stdio":
            server = self.rules.stdio_servers.get(self.config.server)
            if server is None:
                raise McpError(f"MCP_STDIO_SERVERS names no server {self.config.server!r}")
            async with confined_stdio(server, self.rules.stdio) as streams:
                yield streams
            return
        assert self.config.url is not None
        async with _guarded_http(self.config.url, self.rules.http_allow) as streams:
            yield streams


@asynccontextmanager
async def _guarded_http(url: str, allow: frozenset[str]) -> AsyncIterator[Any]:
    """The streamable HTTP transport, every request of it to an address `read_page` could
    reach (or a host in `allow`), connected to the address that was checked."""
    import httpx2  # the MCP SDK's HTTP client
    from mcp.client.streamable_http import streamable_http_client

    await _checked(url, allow)  # a refusal before any session, in words an admin can act on

    class Guarded(httpx2.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx2.AsyncHTTPTransport(trust_env=False)

        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            target, address = await _checked(str(request.url), allow)
            request.url = httpx2.URL(str(target.pinned(address)))
            if target.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": target.host}
            return await self.inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self.inner.aclose()

    timeout = httpx2.Timeout(30.0, read=300.0)
    async with (
        httpx2.AsyncClient(transport=Guarded(), timeout=timeout, trust_env=False) as client,
        streamable_http_client(url, http_client=client) as streams,
    ):
        yield streams


async def _checked(url: str, allow: frozenset[str]) -> tuple[Target, Any]:
    try:
        target = Target.parse(url)
        return target, await checked_address(target, allow)
    except FetchRefused as exc:
        raise McpError(
            f"the MCP server's address is refused: {exc} (MCP_HTTP_ALLOW_HOSTS can allow it)"
        ) from exc
    except FetchFailed as exc:
        raise McpError(f"the MCP server failed: {exc}") from exc


async def _load_sdk() -> None:
    """Most deployments have no MCP tool: the SDK (mcp, mcp_types, their pydantic models) is
    imported on the first call, in a thread so the other chats' turns go on meanwhile."""
    for name in ("mcp_types", "mcp", "mcp.client.streamable_http"):
        if name not in sys.modules:
            await asyncio.to_thread(importlib.import_module, name)


def _text(result: CallToolResult) -> str:
    from mcp_types import TextContent

    parts = [block.text for block in result.content if isinstance(block, TextContent)]
    text = "\n".join(parts)
    if not parts and result.structured_content is not None:
        text = str(result.structured_content)
    return text[:MAX_RESULT_CHARS]


def _innermost(exc: BaseException) -> BaseException:
    """The real error: task groups wrap it."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _reason(exc: BaseException) -> str:
    """The innermost cause, short."""
    exc = _innermost(exc)
    return f"{type(exc).__name__}: {str(exc)[:200]}"
