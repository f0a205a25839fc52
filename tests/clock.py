"""A clock a test controls: real time, plus every wait the code under test asked to sleep,
skipped at once.

Give `now` and `sleep` to code that takes them (tg_bot's send limiter, and the Telegram
stand-in's `clock`) and a wait for a slot costs no real time, while the times recorded on
this clock still show the spacing the code kept. Importable from every service's tests
(`from tests.clock import SkippingClock`).
"""

from __future__ import annotations

import asyncio
import time


class SkippingClock:
    def __init__(self) -> None:
        self.skipped = 0.0
        #: Every wait asked for, in order.
        self.slept: list[float] = []

    def now(self) -> float:
        """Monotonic seconds: real time plus all the waits skipped so far."""
        return time.monotonic() + self.skipped

    async def sleep(self, seconds: float) -> None:
        """Move the clock on by `seconds` at once, and let other tasks run."""
        self.slept.append(seconds)
        self.skipped += max(seconds, 0.0)
        await asyncio.sleep(0)
