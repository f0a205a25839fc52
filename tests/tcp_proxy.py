"""A TCP proxy a test can cut and restore: Postgres or Redis "goes down" for one app
instance while the machine's shared servers keep running for everyone else."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import weakref


def _reserve(port: int) -> socket.socket:
    """`port` bound but not listening: a connection to it is refused, as to a stopped
    server, and no other test's server can take it meanwhile (one that took it and
    answered nothing would hang the client instead of refusing it)."""
    reserved = socket.socket()
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reserved.bind(("127.0.0.1", port))
    return reserved


class TcpProxy:
    """Its port is its own from creation to the end: refused while stopped, proxied while
    started."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._reserved: socket.socket | None = self._held(0)
        self.port: int = self._reserved.getsockname()[1]
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._open = asyncio.Event()
        self._open.set()
        #: Set once a request reached the proxy while it was holding.
        self.waiting = asyncio.Event()

    def hold(self) -> None:
        """Requests on their way to the target wait here, unanswered, until `release()` or
        `stop()`: a request that was sent and never answered (the server died under it)."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def start(self) -> None:
        listening, self._reserved = self._reserved or self._held(self.port), None
        self._server = await asyncio.start_server(self._accept, sock=listening)

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones, as a crashed server would."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._reserved is None:
            self._reserved = self._held(self.port)
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        self.release()

    def _held(self, port: int) -> socket.socket:
        """`_reserve`, closed when the proxy is freed. Not by `__del__`: a proxy freed in a
        reference cycle may have its socket finalized first, which warns of it unclosed and
        fails whichever test is running then."""
        reserved = _reserve(port)
        weakref.finalize(self, reserved.close)
        return reserved

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update({writer, up_writer})
        await asyncio.gather(
            self._pipe(reader, up_writer, held=True), self._pipe(up_reader, writer)
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, held: bool = False
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if held and not self._open.is_set():
                    self.waiting.set()
                    await self._open.wait()
                    if writer.transport.is_closing():
                        break
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()
        self._writers.discard(writer)
