"""What a test module leaves unclosed is reported at that module's end (loaded by the root
conftest.py).

An unclosed socket, transport or file held in a reference cycle warns only when a full
garbage collection frees it, and pytest reports the warning on whichever test is running
then: a later module's test failed on twelve transports some other module had left (the
cron_service SIGKILL drill, 2026-11-28). A collection when each module ends makes the
module that left them the one that fails, at its last test's teardown. A collection costs
little since the run's imports are frozen out of it (`tests/harness.py`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module", autouse=True)
def module_garbage_collected() -> Iterator[None]:
    """Torn down after every other fixture of the module: what they left is freed here."""
    yield
    gc.collect()
