"""A client of one MCP server (streamable HTTP or a local stdio command), one session per
request: `tools/list` and `tools/call`, every failure an `McpError` with words the model or
the log can use. The server's config comes from the admin, never from the model."""

from __future__ import annotations

import asyncio
import atexit
import importlib
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # the SDK is imported on the first call (0.7 s of the assistant's start)
    from mcp import ClientSession
    from mcp_types import CallToolResult

#: How much of one result the model reads.
MAX_RESULT_CHARS = 20_000


class McpError(Exception):
    """The server could not be reached, failed, or answered with an error."""


@dataclass(frozen=True)
class McpServerConfig:
    """What the admin stored: an http(s) URL, or a command (argv, no shell)."""

    transport: Literal["http", "stdio"]
    url: str | None = None
    command: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, config: dict[str, Any]) -> McpServerConfig:
        transport = config.get("transport")
        if transport == "http" and isinstance(config.get("url"), str):
            return cls("http", url=config["url"])
        command = config.get("command")
        if transport == "stdio" and isinstance(command, list) and command:
            return cls("stdio", command=tuple(str(part) for part in command))
        raise McpError("the tool's MCP config is invalid")

    @property
    def label(self) -> str:
        return self.url or " ".join(self.command[:1])


@dataclass(frozen=True)
class McpToolInfo:
    name: str
    description: str
    input_schema: dict[str, Any]


class McpClient:
    def __init__(self, config: McpServerConfig, timeout: float) -> None:
        self.config = config
        self.timeout = timeout

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
            raise McpError(f"the MCP server failed: {_reason(exc)}") from exc

    def _transport(self) -> Any:
        from mcp import StdioServerParameters, stdio_client
        from mcp.client.streamable_http import streamable_http_client

        if self.config.transport == "http":
            assert self.config.url is not None
            return streamable_http_client(self.config.url)
        program, *args = self.config.command
        params = StdioServerParameters(command=program, args=args, env=_stdio_env())
        return stdio_client(params, errlog=_DEVNULL)


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


def _reason(exc: BaseException) -> str:
    """The innermost cause, short: task groups wrap the real error."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _stdio_env() -> dict[str, str]:
    """The child gets where programs and Python modules are, never our secrets (the SDK adds
    its own safe defaults: HOME, LANG, ...)."""
    return {key: os.environ[key] for key in _PASSED_ENV if key in os.environ}


_PASSED_ENV = ("PATH", "VIRTUAL_ENV", "PYTHONPATH")


#: Where stdio servers' stderr goes: their logs are theirs, not ours.
_DEVNULL = open(os.devnull, "w")  # noqa: SIM115 - open for the process's life
atexit.register(_DEVNULL.close)
