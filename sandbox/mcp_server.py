"""A stand-in MCP server: a few tools with strict input schemas, served over streamable
HTTP (`--transport http --port N`, endpoint `/mcp`) or stdio (`--transport stdio`), built
on the official `mcp` package so tests speak the real protocol."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

#: What `order_status` knows; anything else is "not found" (an MCP tool error).
ORDERS = {
    "ORD-1017": "shipped on 12 March, arrives Friday",
    "ORD-2048": "waiting for payment",
}


def build() -> MCPServer:
    server = MCPServer("orders", instructions="Order lookups for tests.")
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

    @server.tool(description="How many times each tool ran in this server process.")
    def calls_made() -> str:
        return json.dumps(dict(calls), sort_keys=True)

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=("http", "stdio"), default="http")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8094)
    args = parser.parse_args()
    server = build()
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=args.host, port=args.port)


if __name__ == "__main__":
    main()
