"""A stand-in MCP server: a few tools with strict input schemas, served over streamable
HTTP (`--transport http --port N`, endpoint `/mcp`) or stdio (`--transport stdio`), built
on the official `mcp` package so tests speak the real protocol."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from ops.infra import free_port, port_answers

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

#: What `order_status` knows; anything else is "not found" (an MCP tool error).
ORDERS = {
    "ORD-1017": "shipped on 12 March, arrives Friday",
    "ORD-2048": "waiting for payment",
}


def build(extra_tools: int = 0) -> MCPServer:
    """The server; `extra_tools` more, with very long descriptions, for a server that
    offers too much."""
    # Here, not at the top: the tests import this module for `McpServerProcess` while it
    # collects them, in every pytest-xdist worker, and the MCP SDK's server takes 0.4 s.
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("orders", instructions="Order lookups for tests.")
    for i in range(extra_tools):
        server.add_tool(_echo, name=f"echo_{i}", description=f"Echo number {i}. " + "x" * 3000)
    #: The calls each tool ran, so a test can see that a refused call never arrived.
    calls: Counter[str] = Counter()

    @server.tool(description="The status of one order, by its number like ORD-1017.")
    def order_status(
        order_id: Annotated[str, Field(pattern=r"^ORD-\d{1,8}$", description="ORD-<digits>")],
    ) -> str:
        calls["order_status"] += 1
        status = ORDERS.get(order_id)
        if status is None:
            raise ValueError(f"no order {order_id}")
        return f"Order {order_id}: {status}"

    @server.tool(description="Adds two whole numbers.")
    def add(a: int, b: int) -> str:
        calls["add"] += 1
        return str(a + b)

    @server.tool(description="Answers after the given number of seconds.")
    async def slow(seconds: Annotated[float, Field(ge=0, le=60)]) -> str:
        calls["slow"] += 1
        await asyncio.sleep(seconds)
        return f"waited {seconds:g} s"

    @server.tool(description="The names of this process's environment variables.")
    def environment() -> str:
        return json.dumps(sorted(os.environ))

    @server.tool(description="How many times each tool ran in this server process.")
    def calls_made() -> str:
        return json.dumps(dict(calls), sort_keys=True)

    return server


class McpServerProcess:
    """`python -m sandbox.mcp_server` over streamable HTTP on a free port, for tests."""

    def __init__(self, extra_tools: int = 0) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                *("-m", "sandbox.mcp_server", "--port", str(self.port)),
                *("--extra-tools", str(extra_tools)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not port_answers("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("the sandbox MCP server did not start")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _echo(text: str) -> str:
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=("http", "stdio"), default="http")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8094)
    parser.add_argument("--extra-tools", type=int, default=0)
    args = parser.parse_args()
    server = build(args.extra_tools)
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=args.host, port=args.port)


if __name__ == "__main__":
    main()
