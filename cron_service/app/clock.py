"""The service's notion of now: the real clock, or (tests only) the real clock shifted so that
it read CRON_TEST_CLOCK_START when the process started.

A shifted clock lets a test watch a daily 09:00 reminder fire on both sides of a
daylight-saving change, or on a Monday, within seconds. Only the planning and the fire's
scheduled and published times are shifted; APScheduler still waits in real time, for the real
instant that corresponds to the shifted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from common.infrastructure.clock import utcnow


@dataclass(frozen=True)
class Clock:
    offset: timedelta = timedelta(0)

    @classmethod
    def starting_at(cls, start: datetime | None) -> Clock:
        return cls(start - utcnow()) if start else cls()

    def now(self) -> datetime:
        return utcnow() + self.offset

    def real(self, instant: datetime) -> datetime:
        """The real instant at which this clock reads `instant`."""
        return instant - self.offset
