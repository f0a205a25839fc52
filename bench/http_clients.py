"""CPU per request of our two HTTP client stacks, httpx and aiohttp, against one local aiohttp
server: which one our own clients should send with.

    .venv/bin/python -m bench.http_clients [--requests 4000] [--rounds 3]

The server runs in a child process, so the figure is the client's alone: the process CPU
(user + system) the client's process spends per JSON POST, with one request in flight and
with 16, each client kept open across its requests as ours are. Rounds alternate the stacks,
so a change in the machine's load falls on both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx

_SERVER = """
import sys
from aiohttp import web

async def echo(request):
    body = await request.json()
    return web.json_response({"ok": True, "id": body["id"], "items": body["items"]})

app = web.Application()
app.router.add_post("/echo", echo)
ready = lambda *_: print("ready", flush=True)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=ready)
"""

#: A body the size of our rest calls' (a context request, a stored message).
BODY = {"id": 0, "items": [{"role": "user", "text": "hello there " * 8} for _ in range(4)]}

Send = Callable[[int], Awaitable[None]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _cpu_per_request(send: Send, requests: int, in_flight: int) -> float:
    """Milliseconds of this process's CPU per request, `in_flight` requests at a time."""
    for i in range(50):  # warm: connections open, code paths imported
        await send(i)
    queue = iter(range(requests))

    async def worker() -> None:
        for i in queue:
            await send(i)

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return (time.process_time() - started) * 1000 / requests


async def _httpx(url: str, requests: int, in_flight: int) -> float:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

        async def send(i: int) -> None:
            response = await client.post(url, json={**BODY, "id": i})
            response.raise_for_status()
            response.json()

        return await _cpu_per_request(send, requests, in_flight)


async def _aiohttp(url: str, requests: int, in_flight: int) -> float:
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:

        async def send(i: int) -> None:
            async with session.post(url, json={**BODY, "id": i}) as response:
                response.raise_for_status()
                await response.json()

        return await _cpu_per_request(send, requests, in_flight)


STACKS = {"httpx": _httpx, "aiohttp": _aiohttp}


async def measure(url: str, requests: int, rounds: int) -> dict[str, dict[int, list[float]]]:
    figures: dict[str, dict[int, list[float]]] = {s: {1: [], 16: []} for s in STACKS}
    for _ in range(rounds):
        for in_flight in (1, 16):
            for name, run in STACKS.items():
                figures[name][in_flight].append(await run(url, requests, in_flight))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        figures = asyncio.run(measure(f"http://127.0.0.1:{port}/echo", args.requests, args.rounds))
    finally:
        server.terminate()
        server.wait()
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "httpx": httpx.__version__,
                "aiohttp": aiohttp.__version__,
                "load_average": os.getloadavg(),
                "requests": args.requests,
                "cpu_ms_per_request": figures,
            }
        )
    )
    print("| stack | in flight | CPU ms per request (each round) |")
    print("|---|---|---|")
    for name, by_flight in figures.items():
        for in_flight, values in by_flight.items():
            print(f"| {name} | {in_flight} | {' / '.join(f'{v:.3f}' for v in values)} |")


if __name__ == "__main__":
    main()
