"""The cyclic garbage collector around a service's start. Importing a service makes a few
hundred thousand objects that live as long as the process, and every full collection while it
starts walks all of them again: about 0.45 s of the 3.3 s of CPU that importing the six
services in one process takes. While a service starts only young collections run; once it has
started, what the start made is frozen out of every later collection (which then walk only what
the running service makes) and the usual thresholds return."""

from __future__ import annotations

import gc

#: The thresholds this process started with (CPython's: 700, 10, 10).
USUAL = gc.get_threshold()
#: While starting, a full collection would wait for this many middle ones: in effect none.
STARTING_FULL = 100_000


def starting() -> None:
    """Call first, before the service's imports."""
    gc.set_threshold(USUAL[0], USUAL[1], STARTING_FULL)


def started() -> None:
    """Call once the service's code is imported and its app built, before it serves."""
    gc.freeze()
    gc.set_threshold(*USUAL)
