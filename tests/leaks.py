"""What a test module leaves unclosed is reported at that module's end (loaded by the root
conftest.py).

An unclosed socket, transport or file held in a reference cycle warns only when a full
garbage collection frees it, and pytest reports the warning on whichever test is running
then: a later module's test failed on twelve transports some other module had left (the
cron_service SIGKILL drill, 2026-11-28). A collection when each module ends makes the
module that left them the one that fails, at its last test's teardown.

What outlives that collection (the session's fixtures, caches, modules imported late) is then
frozen out of later ones, as the run's imports are at collection (`tests/harness.py`): each
collection walks only what one module made. Unfrozen, the objects of every earlier module were
walked again at each module's end: in the fast tier 36 s of its workers' CPU went to these
collections (0.13 s each on average, up to 0.58 s with 320 000 objects), 2 s once frozen.
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
    gc.freeze()
