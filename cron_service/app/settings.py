"""cron_service settings."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BeforeValidator, Field, model_validator

from common.infrastructure.settings import ServiceSettings

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_COMPOUND = re.compile(r"(\d+(?:\.\d+)?)([dhms])")


def _duration(value: object) -> object:
    """Seconds as a number, `90s`, `30m`, `6h`, `1d`, `1h30m`, or what pydantic reads
    (`PT6H`, `06:00:00`), so an operator writes a duration the way they think of it."""
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    try:
        return timedelta(seconds=float(text))
    except ValueError:
        pass
    parts = _COMPOUND.findall(text)
    if parts and "".join(n + u for n, u in parts) == text.replace(" ", ""):
        return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration), Field(ge=timedelta(0))]
PositiveDuration = Annotated[timedelta, BeforeValidator(_duration), Field(gt=timedelta(0))]


class Settings(ServiceSettings):
    default_port: ClassVar[int] = 8003
    service_name: ClassVar[str] = "cron_service"

    #: A fire later than this is still delivered, marked "(late)"; beyond it, recorded missed
    #: and the user told once.
    reminder_misfire_grace: Duration = timedelta(hours=6)
    #: A fire later than this counts as `late` rather than `on_time`.
    reminder_late_after: Duration = timedelta(seconds=60)
    #: The full resync from rest_service, which heals a lost `cron:updated`.
    cron_resync_interval: PositiveDuration = timedelta(seconds=60)
    #: How long a fire's claim lives in Redis: far longer than any restart or grace period.
    cron_fire_claim_ttl: PositiveDuration = timedelta(days=30)
    #: Fires recorded in rest_service at once (runs, job state, the user's conversation).
    cron_record_concurrency: int = Field(default=16, ge=1)
    #: How often claimed fires not yet recorded are looked for, and how old one must be
    #: before another instance (or a restarted one) finishes recording it.
    cron_recovery_interval: PositiveDuration = timedelta(seconds=15)
    cron_recovery_min_age: Duration = timedelta(seconds=30)
    #: Bursts of `cron:updated` within this window cause one resync.
    cron_update_debounce: Duration = timedelta(milliseconds=200)
    #: How often a replica renews its membership in `cron:replicas` and re-takes its share of
    #: the jobs; a replica silent for CRON_REPLICA_TTL is dead, and its share is taken over at
    #: the others' next heartbeat (so a dead replica's fires are at most TTL + heartbeat late).
    cron_replica_heartbeat: PositiveDuration = timedelta(seconds=2)
    cron_replica_ttl: PositiveDuration = timedelta(seconds=10)
    #: Tests only (ENVIRONMENT=test): what the service's clock reads when it starts.
    cron_test_clock_start: AwareDatetime | None = None
    #: Tests only: how many times as fast as the real one the service's clock runs.
    cron_test_clock_rate: float = Field(default=1.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _heartbeat_within_ttl(self) -> Settings:
        if self.cron_replica_ttl <= self.cron_replica_heartbeat:
            raise ValueError("CRON_REPLICA_TTL must be longer than CRON_REPLICA_HEARTBEAT")
        return self

    @model_validator(mode="after")
    def _test_clock_only_in_tests(self) -> Settings:
        if self.cron_test_clock_start is not None and not self.is_test:
            raise ValueError("CRON_TEST_CLOCK_START is for tests (ENVIRONMENT=test) only")
        if self.cron_test_clock_rate != 1 and not self.is_test:
            raise ValueError("CRON_TEST_CLOCK_RATE is for tests (ENVIRONMENT=test) only")
        return self
