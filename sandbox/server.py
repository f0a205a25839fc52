"""What every stand-in server shares: serve its aiohttp app on a free port, in the caller's
event loop or from a thread of its own (so a test may block without stalling it)."""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Self

from aiohttp import web


class StandInServer(ABC):
    """Subclasses build their routes in `app()`."""

    thread_name = "stand-in"

    def __init__(self) -> None:
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def app(self) -> web.Application:
        """The stand-in's routes."""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._runner = web.AppRunner(
            self.app(), access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> Self:
        """Serve from a thread with its own event loop; `stop_thread()` ends it."""
        started = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.start())
            started.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self.stop())
            self._loop.run_until_complete(_cancel_leftovers())
            self._loop.close()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError(f"{self.thread_name} did not start")
        return self

    def stop_thread(self) -> None:
        if self._loop and self._thread:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> Self:
        """`with LlmStandIn() as llm:` serves from a thread for the block."""
        return self.start_in_thread()

    def __exit__(self, *_: object) -> None:
        self.stop_thread()


class ScriptedServer(StandInServer):
    """One path answered with `responses` in turn (the last one again after them): what an
    outside server does at its worst (a proxy's HTML error, a page in an unknown charset).
    A function per response: aiohttp sends a response object once."""

    def __init__(
        self, path: str, *responses: Callable[[], web.Response], method: str = "GET"
    ) -> None:
        super().__init__()
        self.path, self.method = path, method
        self.responses = list(responses)
        self.hits = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route(self.method, self.path, self._answer)
        return app

    async def _answer(self, _request: web.Request) -> web.Response:
        self.hits += 1
        return self.responses[min(self.hits, len(self.responses)) - 1]()


async def _cancel_leftovers() -> None:
    """Requests still waiting (a scripted delay whose client died) end with the loop."""
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
