"""The one-process runner's supervision, in this process: a failing service (an exception, a
SystemExit, an early end) is started again after a backoff until the stop; each service's log
lines carry its name and its own level."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from common.infrastructure.logging import configure_logging, get_logger, reset_logging
from common.infrastructure.retry import RetryPolicy
from common.infrastructure.settings import ServiceSettings
from ops import one_process
from ops.processes import ONE_PROCESS, Background
from ops.services import BY_NAME
from tests.waiting import until

FAST = RetryPolicy(retries=None, base_s=0.001, max_s=0.002, floor=1.0, ceiling=1.0)


async def test_a_failing_service_is_run_again_until_it_stays_up() -> None:
    stop = asyncio.Event()
    runs: list[int] = []
    endings = [RuntimeError("boom"), SystemExit(2), None]

    async def run(event: asyncio.Event) -> None:
        runs.append(len(runs))
        ending = endings[len(runs) - 1]
        if ending is not None:
            raise ending
        if len(runs) == 3 and not event.is_set():
            return  # the third run ends early: also run again
        await event.wait()

    endings.append(None)
    with capture_logs() as logs:
        task = asyncio.create_task(one_process.supervise("unit", run, stop, restarts=FAST))
        await until(lambda: len(runs) == 4)
        stop.set()
        await task
    events = [line["event"] for line in logs]
    assert events.count("service_failed") == 2 and "service_ended_early" in events
    assert events.count("service_restarting") == 3


async def test_a_long_run_starts_the_backoff_again() -> None:
    stop, runs = asyncio.Event(), []

    async def run(_event: asyncio.Event) -> None:
        runs.append(1)
        if len(runs) >= 2:
            stop.set()
        raise RuntimeError("again")

    with capture_logs() as logs:
        await one_process.supervise("unit", run, stop, restarts=FAST, steady_s=0)
    assert [line["failures"] for line in logs if line["event"] == "service_restarting"] == [1, 1]


def test_unknown_services_are_refused_and_ports_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert one_process.main(["nope"]) == 2
    assert "unknown service nope" in capsys.readouterr().err
    environ = {"TG_BOT__HTTP_PORT": "1"}
    one_process.give_ports(["tg_bot", "assistant"], environ)
    assert environ == {"TG_BOT__HTTP_PORT": "1", "ASSISTANT__HTTP_PORT": "8002"}
    assert one_process.service_run(BY_NAME["assistant"]) is one_process.load(
        BY_NAME["assistant"].entry
    )


def test_each_service_logs_at_its_own_level(caplog: pytest.LogCaptureFixture) -> None:
    def configure(service: str, level: str) -> contextvars.Context:
        context = contextvars.copy_context()
        settings = ServiceSettings(_env_file=None, environment="test", log_level=level)
        context.run(configure_logging, settings, service)
        return context

    try:
        quiet, chatty = configure("quiet", "WARNING"), configure("chatty", "DEBUG")
        records: list[logging.LogRecord] = []

        def keep(record: logging.LogRecord) -> bool:
            """After the level filter: what it lets through is kept here, not written."""
            records.append(record)
            return False

        logging.getLogger().handlers[0].addFilter(keep)
        for context in (quiet, chatty):
            context.run(lambda: get_logger("unit").debug("detail"))
            context.run(lambda: get_logger("unit").warning("problem"))
    finally:
        reset_logging()
    seen = [(r.msg["service"], r.msg["event"]) for r in records]  # type: ignore[index]
    assert seen == [("quiet", "problem"), ("chatty", "detail"), ("chatty", "problem")]


def test_a_service_in_the_one_process_shows_the_one_process_log(tmp_path: Path) -> None:
    """`start` waiting for a service that fails shows the log it writes to: its own, or the
    one process's when it runs there."""
    background = Background(tmp_path / "run", tmp_path / "logs")
    background.log_file(ONE_PROCESS).write_text("rest_service failed\n")
    background.log_file("assistant").write_text("assistant alone\n")
    assert "rest_service failed" in background._tail_of("rest_service")
    assert "assistant alone" in background._tail_of("assistant")


async def test_on_stop_each_service_ends_before_the_ones_it_calls_are_told_to_stop() -> None:
    """Callers first, rest_service last: a worker's last job still reaches rest_service."""
    stop = asyncio.Event()
    running: set[str] = set()
    told: list[tuple[str, frozenset[str]]] = []

    def service(name: str) -> one_process.Run:
        async def run(event: asyncio.Event) -> None:
            running.add(name)
            await event.wait()
            told.append((name, frozenset(running)))
            running.discard(name)

        return run

    names = ["rest_service", "channels", "google_calendar_service", "cron_service"]
    everything = asyncio.create_task(one_process.run_all({n: service(n) for n in names}, stop))
    await until(lambda: len(running) == len(names), 5, "all running")
    stop.set()
    await everything

    assert [name for name, _ in told] == [
        "channels",
        "cron_service",
        "google_calendar_service",
        "rest_service",
    ]
    assert all(still == {name, *later} for (name, still), later in _after(told))


def _after(
    told: list[tuple[str, frozenset[str]]],
) -> list[tuple[tuple[str, frozenset[str]], list[str]]]:
    """Each stop with the services told after it (still running when it was told)."""
    return [(entry, [name for name, _ in told[i + 1 :]]) for i, entry in enumerate(told)]
