"""Every service in one process, for one small machine (`python -m ops.one_process [service
...]`; `./manage.py up --one-process`). Each service runs its own entry point, the one
`python -m <service>` runs: the FastAPI app uvicorn serves, or the worker's `main(stop)`. Each
keeps its own settings (`<SERVICE>__<SETTING>` gives it its own value, its port first:
common/infrastructure/settings.py), its own port, probes and log lines (`service` names it),
and talks to the others as in separate processes: Redis streams and HTTP on loopback.

A service is a supervised task of the one event loop: when it fails (or ends while the process
runs on) it is logged and started again after a backoff, while the others go on answering.
SIGTERM or SIGINT stops them all, each the way its own process would stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from common.infrastructure import collector
from common.infrastructure.logging import bind_service, get_logger
from common.infrastructure.retry import RetryPolicy
from common.infrastructure.serve import SharedProcessServer, asgi_config
from common.infrastructure.settings import load_settings, own_name
from ops.services import BY_NAME, NAMES, Kind, Service

log = get_logger(__name__)

#: A service's whole run: it returns once `stop` is set and it has shut down.
Run = Callable[[asyncio.Event], Awaitable[None]]

#: The waits before a failed service starts again: 0.5 s, doubling, at most 30 s.
RESTARTS = RetryPolicy(retries=None, base_s=0.5, max_s=30.0, floor=1.0, ceiling=1.0)
#: A run at least this long was a good one: the next failure waits the first step again.
STEADY_S = 60.0


def load(path: str) -> Any:
    """The object a `module:attribute` path names."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def service_run(service: Service) -> Run:
    """How the service's own `python -m` runs it, without owning the process."""
    if service.kind is Kind.worker:
        main: Run = load(service.entry)
        return main

    load(service.entry)  # the app imported and built now, with the rest (collector.started)

    async def serve(stop: asyncio.Event) -> None:
        settings = load_settings(load(service.settings))
        server = SharedProcessServer(asgi_config(service.entry, settings))

        async def exit_on_stop() -> None:
            await stop.wait()
            server.should_exit = True

        # Served in this task, not a task of its own: a port in use makes uvicorn raise
        # SystemExit, which a task would pass on to the loop and end the whole process.
        watching = asyncio.create_task(exit_on_stop())
        try:
            await server.serve()
        finally:
            watching.cancel()

    return serve


async def supervise(
    name: str,
    run: Run,
    stop: asyncio.Event,
    *,
    restarts: RetryPolicy = RESTARTS,
    steady_s: float = STEADY_S,
) -> None:
    """Run `run` until `stop`; after each failure or early end, again after a backoff."""
    bind_service(name)
    loop = asyncio.get_running_loop()
    failures = 0
    while not stop.is_set():
        began = loop.time()
        try:
            await run(stop)
        except (Exception, SystemExit) as exc:  # SystemExit: its settings, uvicorn's bind
            log.error("service_failed", error=f"{type(exc).__name__}: {exc}", exc_info=exc)
        else:
            if stop.is_set():
                return
            log.error("service_ended_early")
        failures = 1 if loop.time() - began >= steady_s else failures + 1
        delay = restarts.backoff(failures)
        log.info("service_restarting", in_seconds=delay, failures=failures)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)


async def run_all(runs: dict[str, Run], stop: asyncio.Event) -> None:
    """Every service supervised in a context of its own until `stop` is set; then each is
    stopped in the reverse of the start order and waited for, as `Stack.stop_all` stops
    separate processes: a worker finishing its last job still reaches the rest_service it
    calls (stopped together, it would retry a closed port until killed)."""
    own = {name: asyncio.Event() for name in runs}
    tasks = {name: asyncio.create_task(supervise(name, runs[name], own[name])) for name in runs}
    await stop.wait()
    for name in sorted(runs, key=NAMES.index, reverse=True):
        own[name].set()
        await tasks[name]


def give_ports(names: Sequence[str], environ: MutableMapping[str, str]) -> None:
    """A service told no port of its own listens on its default one (HTTP_PORT is one
    variable; several services cannot share it)."""
    for name in names:
        environ.setdefault(own_name(name, "http_port"), str(BY_NAME[name].default_port))


def main(argv: Sequence[str]) -> int:
    names = list(argv) or list(NAMES)
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        print(f"unknown service {', '.join(unknown)}; one of {', '.join(NAMES)}", file=sys.stderr)
        return 2
    give_ports(names, os.environ)
    runs = {name: service_run(BY_NAME[name]) for name in names}
    collector.started()

    async def _run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_all(runs, stop)

    asyncio.run(_run())
    gc.freeze()  # as common/infrastructure/runner.py: the exit needs no last collections
    return 0


if __name__ == "__main__":
    collector.starting()  # before the services' imports (main's): see collector.py
    sys.exit(main(sys.argv[1:]))
