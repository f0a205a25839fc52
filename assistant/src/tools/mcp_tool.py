"""Tools of type `mcp`: one stored tool names an MCP server (the admin's config, never the
model's arguments); each function the server lists becomes a function the model sees,
named `<stored name>__<server's name>`. The server's list is cached per tool and config
(`McpCatalog`); a server that cannot be listed offers nothing until it can, and the turn goes
on without it. Arguments are fitted and validated against the server's schema by the
toolbox, like every tool's, before `tools/call`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from assistant.src.clients.mcp import McpClient, McpError, McpRules, McpServerConfig, McpToolInfo
from assistant.src.settings import Settings
from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError, ToolServices
from common.infrastructure.logging import get_logger
from common.infrastructure.wire import SnapshotTool, ToolType, mcp_config_error

log = get_logger(__name__)

#: How long a server's tool list is trusted; a config change refreshes it at once.
LIST_TTL_SECONDS = 300.0
#: How long a server that could not be listed is left alone before the next try.
DOWN_RETRY_SECONDS = 30.0
#: How many functions one server may add to a request, and how long each description may
#: be: a server must not crowd out the assistant's own tools or the conversation.
MAX_FUNCTIONS = 64
MAX_DESCRIPTION_CHARS = 1_000
#: OpenAI's rule for function names.
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_NOT_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_SEPARATOR = "__"
_DIGEST_CHARS = 8


class McpTool(BaseTool, tool_type=ToolType.mcp.value):
    """One function of an MCP server; `spec` is the stored tool with the function's name,
    description and schema, so invocations are recorded against the stored tool."""

    reads_outside_content = True

    def __init__(self, spec: SnapshotTool, services: ToolServices, remote_name: str = "") -> None:
        super().__init__(spec, services)
        self.remote_name = remote_name

    def stores_or_removes(self, arguments: dict[str, Any]) -> bool:
        """The functions the admin named in the config's `"writing"` list."""
        return self.remote_name in writing_functions(self.spec.config)

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        if not self.remote_name:
            raise ToolError("this MCP tool was not listed by its server")
        client = _client(self.spec, self.services.settings, self.timeout)
        try:
            return await client.call_tool(self.remote_name, arguments)
        except McpError as exc:
            raise ToolError(str(exc)) from exc


@dataclass
class _Listing:
    config_key: str
    tools: list[McpToolInfo]
    expires: float


class McpCatalog:
    """The tool lists of MCP servers, by stored tool id, cached for `ttl` seconds and
    dropped when the tool's config changes. `clock` (monotonic seconds) is what the expiry is
    read on: a test passes one it moves on, instead of waiting out the TTL."""

    def __init__(
        self,
        ttl: float = LIST_TTL_SECONDS,
        down_retry: float = DOWN_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.ttl = ttl
        self.down_retry = down_retry
        self._clock = clock
        self._listings: dict[UUID, _Listing] = {}
        self._locks: dict[UUID, asyncio.Lock] = {}

    async def tools_of(self, spec: SnapshotTool, settings: Settings) -> list[McpToolInfo]:
        key = json.dumps(spec.config, sort_keys=True)
        async with self._locks.setdefault(spec.id, asyncio.Lock()):
            listing = self._listings.get(spec.id)
            if listing and listing.config_key == key and listing.expires > self._clock():
                return listing.tools
            tools, keep = await self._list(spec, settings)
            self._listings[spec.id] = _Listing(key, tools, self._clock() + keep)
            return tools

    async def _list(
        self, spec: SnapshotTool, settings: Settings
    ) -> tuple[list[McpToolInfo], float]:
        try:
            tools = await _client(spec, settings, settings.tool_timeout_seconds).list_tools()
        except (McpError, ToolError) as exc:
            log.warning("mcp_server_unavailable", tool=spec.name, error=str(exc))
            return [], self.down_retry
        return tools, self.ttl


#: The process's catalog: every turn of this assistant process shares the lists.
CATALOG = McpCatalog()


async def expand(
    spec: SnapshotTool, services: ToolServices, catalog: McpCatalog = CATALOG
) -> list[McpTool]:
    """The functions one stored mcp tool offers now; none when its server is down."""
    listed = await catalog.tools_of(spec, services.settings)
    if len(listed) > MAX_FUNCTIONS:
        log.warning("mcp_functions_cut", tool=spec.name, listed=len(listed), kept=MAX_FUNCTIONS)
    return [
        McpTool(
            spec.model_copy(
                update={
                    "name": function_name(spec.name, info.name),
                    "description": info.description[:MAX_DESCRIPTION_CHARS],
                    "input_schema": _object_schema(info.input_schema),
                }
            ),
            services,
            info.name,
        )
        for info in listed[:MAX_FUNCTIONS]
    ]


def function_name(prefix: str, remote: str) -> str:
    """`<prefix>__<remote>` within OpenAI's rule; too long or odd names end in a digest of
    the original, so two server names never meet in one."""
    plain = _NOT_NAME_CHARS.sub("_", f"{prefix}{_SEPARATOR}{remote}")
    if len(plain) <= 64 and plain == f"{prefix}{_SEPARATOR}{remote}":
        return plain
    digest = hashlib.sha256(f"{prefix}\0{remote}".encode()).hexdigest()[:_DIGEST_CHARS]
    return f"{plain[: 64 - _DIGEST_CHARS - 1]}_{digest}"


def unique(tools: Iterable[BaseTool]) -> list[BaseTool]:
    """The first tool of each name: a server listing a name twice (or one clashing with a
    stored tool) must not hide the other."""
    seen: set[str] = set()
    kept: list[BaseTool] = []
    for tool in tools:
        if tool.name in seen:
            log.warning("tool_name_repeated", tool=tool.name)
            continue
        seen.add(tool.name)
        kept.append(tool)
    return kept


def writing_functions(config: dict[str, Any] | None) -> frozenset[str]:
    """The server's functions the admin marked as writing (`"writing": [names]`)."""
    names = (config or {}).get("writing")
    if not isinstance(names, list):
        return frozenset()
    return frozenset(n for n in names if isinstance(n, str))


def _client(spec: SnapshotTool, settings: Settings, timeout: float) -> McpClient:
    """A client of the tool's server under the operator's rules; a stored config the rules
    refuse (a command, an unknown server name) is a `ToolError`."""
    rules = McpRules.of(settings)
    if problem := mcp_config_error(spec.config, rules.stdio_servers):
        raise ToolError(f"the MCP tool's {problem[0]} {problem[1]}")
    return McpClient(McpServerConfig.from_json(spec.config or {}), timeout, rules)


def _object_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """What the model's function parameters must be: an object schema."""
    if schema.get("type") == "object":
        return schema
    return {"type": "object", "properties": {}}
