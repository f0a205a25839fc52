"""The service's notion of now: the real clock, or (tests only) the real clock shifted so that
it read CRON_TEST_CLOCK_START when the process started, and running CRON_TEST_CLOCK_RATE
times as fast.

A shifted clock lets a test watch a daily 09:00 reminder fire on both sides of a
daylight-saving change, or on a Monday, within seconds; a fast one lets it watch an urgent
reminder repeat every minute without waiting minutes. Only the planning and the fire's
scheduled and published times are shifted; APScheduler still waits in real time, for the real
instant that corresponds to the shifted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from common.infrastructure.clock import utcnow


@dataclass(frozen=True)
class Clock:
    offset: timedelta = timedelta(0)
    #: Seconds of this clock per real second.
    rate: float = 1.0
    #: The real instant from which it runs at `rate`.
    origin: datetime = field(default_factory=utcnow)

    @classmethod
    def starting_at(cls, start: datetime | None, rate: float = 1.0) -> Clock:
        origin = utcnow()
        return cls(start - origin if start else timedelta(0), rate, origin)

    def now(self) -> datetime:
        return self.origin + self.offset + (utcnow() - self.origin) * self.rate

    def real(self, instant: datetime) -> datetime:
        """The real instant at which this clock reads `instant`."""
        return self.origin + (instant - self.offset - self.origin) / self.rate
