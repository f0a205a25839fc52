"""A stand-in stdio MCP server that probes its confinement: standard library only (it runs
under whatever Python the unprivileged user can start), spoken as newline-delimited
JSON-RPC. Tools: `add`, `environment` (its own variable names, its uid, and what it gets
trying to read its parent's environment), `flood` (a result of N bytes), `allocate` (N MB),
`spin` (burn CPU for N seconds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common.features.mcp_servers import StdioServer

TOOLS = [
    ("add", "Adds two whole numbers.", {"a": "integer", "b": "integer"}),
    ("environment", "What this process can see of environments.", {}),
    ("flood", "A result of the given number of bytes.", {"size": "integer"}),
    ("allocate", "Holds the given number of megabytes.", {"megabytes": "integer"}),
    ("spin", "Burns CPU for the given number of seconds.", {"seconds": "number"}),
]


def _schema(properties: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": kind} for name, kind in properties.items()},
        "required": list(properties),
    }


def _parent_environment() -> str:
    try:
        data = Path(f"/proc/{os.getppid()}/environ").read_bytes()
    except OSError as exc:
        return f"refused: {type(exc).__name__}"
    return data.decode(errors="replace")


def _call(name: str, args: dict[str, Any]) -> str:
    if name == "add":
        return str(int(args["a"]) + int(args["b"]))
    if name == "environment":
        own = sorted(os.environ)
        return json.dumps({"own": own, "uid": os.geteuid(), "parent": _parent_environment()})
    if name == "flood":
        return "x" * int(args["size"])
    if name == "allocate":
        held = bytearray(int(args["megabytes"]) * 2**20)
        return f"holding {len(held)} bytes"
    if name == "spin":
        end = time.process_time() + float(args["seconds"])
        while time.process_time() < end:
            pass
        return "spun"
    raise ValueError(f"no tool {name}")


def _answer(request: dict[str, Any]) -> dict[str, Any] | None:
    method, params = request.get("method"), request.get("params") or {}
    if "id" not in request:
        return None  # a notification
    result: dict[str, Any]
    if method == "initialize":
        result = {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "probe", "version": "1"},
        }
    elif method == "tools/list":
        tools = [{"name": n, "description": d, "inputSchema": _schema(p)} for n, d, p in TOOLS]
        result = {"tools": tools}
    elif method == "tools/call":
        try:
            text, failed = _call(params["name"], params.get("arguments") or {}), False
        except (Exception, MemoryError) as exc:
            text, failed = f"{type(exc).__name__}: {exc}", True
        result = {"content": [{"type": "text", "text": text}], "isError": failed}
    else:
        result = {}
    return {"jsonrpc": "2.0", "id": request["id"], "result": result}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        answer = _answer(json.loads(line))
        if answer is not None:
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()


def probe_server(user: str, env: tuple[str, ...] = ()) -> StdioServer:
    """The probe as an operator's `MCP_STDIO_SERVERS` entry, under a Python that `user`
    (empty: the current one) can start; its source goes in `-c`, so no file of ours needs
    to be readable by that user."""
    source = (
        Path(__file__)
        .read_text()
        .replace("from common.features.mcp_servers import StdioServer\n", "")
    )
    return StdioServer(command=_python_for(user), args=("-c", source), env=env)


def _python_for(user: str) -> str:
    if not user:
        return sys.executable
    for candidate in (sys.executable, "/usr/local/bin/python3", "/usr/bin/python3"):
        try:
            subprocess.run([candidate, "-c", "0"], user=user, check=True, timeout=10, cwd="/")
        except (OSError, subprocess.SubprocessError):
            continue
        return candidate
    raise RuntimeError(f"no Python that {user} can start")


if __name__ == "__main__":
    main()
