"""Tests wait for evidence, never for a fixed time: a ratchet on `sleep(` in test code.

A `sleep(` that stands for work (a handler that hangs, a stand-in that is slow, a child that
idles) is listed in SIMULATED with what it simulates; every other one is a wait. Waits still
left may not grow past CEILING, which is 0: wait with `tests.waiting.until` for a positive sign
(a later message answered, an event counted, a clock the test moves) instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ops.services import ROOT

pytestmark = pytest.mark.policy

#: Waits by sleeping still in the tests: none. Keep it at 0.
CEILING = 0

#: (file, the line's text) of sleeps that simulate work or time in a stand-in: not waits.
SIMULATED: dict[tuple[str, str], str] = {
    ("tests/waiting.py", "await asyncio.sleep(interval)"): "until's own polling",
    ("tests/waiting.py", "time.sleep(interval)"): "until_sync's own polling",
    ("tests/clock.py", "await asyncio.sleep(0)"): "a skipped wait lets other tasks run",
    ("tests/clock.py", "async def sleep(self, seconds: float) -> None:"): "the test clock's "
    "sleep, defined: it skips the wait",
    ("common/tests/queue_worker.py", "await asyncio.sleep(args.delay + random.random() * "
     "args.jitter)"): "a worker's work",
    ("common/tests/test_queue_hand_back.py", "await asyncio.sleep(3600 if msg.text in "
     "self.slow else self.delay)"): "a handler's work",
    ("common/tests/test_queue.py", "await asyncio.sleep(30)"): "a handler that hangs",
    ("common/tests/test_queue.py", "await asyncio.sleep(0.3)"): "a handler's work",
    ("common/tests/test_queue.py", "await asyncio.sleep(0.02)"): "a handler's work",
    ("assistant/tests/test_resilience.py", "await asyncio.sleep(0.01)"): "users' pace",
    ("common/tests/test_probes.py", "await asyncio.sleep(30)"): "a check that hangs",
    ("common/tests/test_queue_cluster.py", "await asyncio.sleep(random.random() * 0.004)"):
        "a handler's work",
    ("tg_bot/tests/workers/test_drafts.py", "await asyncio.sleep(pause)"): "a model writing",
    ("tg_bot/tests/domain/test_rate_limiter.py", "await asyncio.sleep(0.6)  # past the chat's "
     "0.5 s window before it ends"): "a slow send",
    ("tg_bot/tests/domain/test_rate_limiter.py", "await asyncio.sleep(0.6)"): "a slow send",
    ("common/tests/test_redis_sentinel.py", "await asyncio.sleep(0.002)"): "a handler's work",
    ("common/tests/test_redis_sentinel.py", "await asyncio.sleep(0.01)"): "a producer's pace",
    ("tests/drill_support.py", "await asyncio.sleep(max(0.0, started + i / per_second - "
     "time.monotonic()))"): "users' pace",
    ("tests/private_servers.py", "time.sleep(down_for)"): "an outage's length",
    ("tests/test_demo.py", 'unrelated = subprocess.Popen([sys.executable, "-c", "import time; '
     'time.sleep(60)"])'): "an unrelated process idling",
    ("tests/test_manage_startup.py", "time.sleep({delay})"): "a slow child",
    ("tests/test_cpu_limit.py", "time.sleep(2.0)"): "a child idling",
    ("tg_bot/tests/workers/test_typing.py", "await asyncio.sleep(0)"): "one loop turn after "
    "gc.collect(), so tasks held by scheduled callbacks are released and an exception nobody "
    "retrieved reaches the handler before the check: it waits for nothing",
}  # fmt: skip

SLEEP = re.compile(r"\bsleep\(")


def files_of_the_tests() -> list[Path]:
    """Every Python file of the tests: the tests/ folders and the conftest.py files."""
    found = [
        path
        for path in ROOT.rglob("*.py")
        if not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
        and ("tests" in path.relative_to(ROOT).parts or path.name == "conftest.py")
        and path != Path(__file__)  # this file names sleep( in its words only
    ]
    return sorted(found)


def waits() -> list[str]:
    """`file:line: text` of every sleep( in the tests that is not in SIMULATED."""
    found = []
    for path in files_of_the_tests():
        name = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SLEEP.search(line) and (name, line.strip()) not in SIMULATED:
                found.append(f"{name}:{number}: {line.strip()}")
    return found


def test_no_new_sleep_waits_in_the_tests() -> None:
    left = waits()
    assert len(left) <= CEILING, (
        f"{len(left)} sleeps in the tests, over the ceiling {CEILING}: wait with "
        "tests.waiting.until for evidence instead\n" + "\n".join(left)
    )


def test_every_simulated_sleep_is_still_there() -> None:
    """The allow-list names only lines that exist, so it cannot hide a new wait."""
    lines = {
        (path.relative_to(ROOT).as_posix(), line.strip())
        for path in files_of_the_tests()
        for line in path.read_text(encoding="utf-8").splitlines()
    }
    assert [entry for entry in SIMULATED if entry not in lines] == []
