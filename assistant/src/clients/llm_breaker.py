"""A circuit breaker per model, shared in Redis by every assistant process.

A dead model costs each call its retries (seconds) before the fallback answers. After
`LLM_BREAKER_FAILURES` failed attempts in a row within `LLM_BREAKER_WINDOW_SECONDS` the model
is skipped for `LLM_BREAKER_COOLDOWN_SECONDS`; then one call (across all processes) tries it
once (half-open): success closes the breaker, failure opens it for another cool-down.

The state is in Redis, not in the process: replicas share what one learnt, so a dead model
costs the whole deployment N attempts, not N per replica, and the open/close transitions are
atomic Lua steps, logged once by the process that made them. With Redis unreachable the
breaker lets every call through (it never makes the assistant less available).
"""

from __future__ import annotations

import enum

import redis.asyncio as aioredis
from prometheus_client import Counter, Gauge
from redis.exceptions import RedisError

from assistant.src.settings import Settings
from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names

log = get_logger(__name__)

# Labels are model names from the live config (routes), so the label set stays bounded.
BREAKER_OPEN = Gauge(
    "smart_assistant_llm_breaker_open",
    "1 while the model's breaker is open (as this process saw it)",
    ["model"],
)
BREAKER_TRANSITIONS = Counter(
    "smart_assistant_llm_breaker_transitions_total",
    "Breaker openings and closings, by model",
    ["model", "to"],
)
BREAKER_SKIPS = Counter(
    "smart_assistant_llm_breaker_skipped_total",
    "Calls that skipped a model while its breaker was open",
    ["model"],
)

#: How long a tripped breaker is remembered at most (a model gone from the config).
_TRIPPED_TTL_S = 7 * 24 * 3600

# KEYS: failures, open, tripped, probe. ARGV: probe TTL (ms). 0 closed with failures
# counted, 1 skip, 2 probe (half-open), 3 closed and clean.
_ADMIT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[3]) == 0 then
  if redis.call('EXISTS', KEYS[1]) == 0 then return 3 end
  return 0
end
if redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[1]) then return 2 end
return 1
"""

# KEYS: failures, open, tripped, probe. ARGV: window ms, threshold, cool-down ms, probe flag,
# tripped TTL s. 0 counted, 1 opened now, 2 re-opened (probe failed), 3 open already.
_FAIL = """
if ARGV[4] == '1' then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[4])
  return 2
end
if redis.call('EXISTS', KEYS[3]) == 1 then return 3 end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('SET', KEYS[3], '1', 'EX', ARGV[5])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

# KEYS: failures, open, tripped, probe. ARGV: probe flag. 1 when the probe closed it.
_SUCCEED = """
redis.call('DEL', KEYS[1])
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[3], KEYS[4])
  return 1
end
return 0
"""


class Admission(enum.Enum):
    CLOSED = "closed"  # call as usual, with retries
    #: Closed, and no failure counted: a success has nothing to reset (one round trip less
    #: on every LLM call), unless the call itself failed before it succeeded.
    CLEAN = "clean"
    OPEN = "open"  # skip this model
    PROBE = "probe"  # half-open: this call alone tries the model, once


class CircuitBreaker:
    def __init__(
        self,
        redis: aioredis.Redis,
        names: Names,
        *,
        failures: int,
        window_s: float,
        cooldown_s: float,
        probe_ttl_s: float,
    ) -> None:
        self._redis = redis
        self._names = names
        self._failures = failures
        self._window_ms = max(1, int(window_s * 1000))
        self._cooldown_ms = max(1, int(cooldown_s * 1000))
        self._probe_ttl_ms = max(1, int(probe_ttl_s * 1000))
        self._admit = redis.register_script(_ADMIT)
        self._fail = redis.register_script(_FAIL)
        self._succeed = redis.register_script(_SUCCEED)

    async def admit(self, model: str) -> Admission:
        try:
            found = int(await self._admit(keys=self._keys(model), args=[self._probe_ttl_ms]))
        except (RedisError, OSError) as exc:
            log.warning("llm_breaker_unreachable", model=model, error=str(exc))
            return Admission.CLOSED
        admission = (Admission.CLOSED, Admission.OPEN, Admission.PROBE, Admission.CLEAN)[found]
        closed = admission in (Admission.CLOSED, Admission.CLEAN)
        BREAKER_OPEN.labels(model).set(0 if closed else 1)
        if admission is Admission.OPEN:
            BREAKER_SKIPS.labels(model).inc()
            log.debug("llm_breaker_skipped", model=model)
        return admission

    async def failed(self, model: str, admission: Admission) -> bool:
        """Records a failed attempt; True when the model should not be tried again now."""
        probe = admission is Admission.PROBE
        args = [self._window_ms, self._failures, self._cooldown_ms, int(probe), _TRIPPED_TTL_S]
        try:
            outcome = int(await self._fail(keys=self._keys(model), args=args))
        except (RedisError, OSError) as exc:
            log.warning("llm_breaker_unreachable", model=model, error=str(exc))
            return False
        if outcome == 1:
            BREAKER_TRANSITIONS.labels(model, "open").inc()
            log.warning(
                "llm_breaker_opened",
                model=model,
                failures=self._failures,
                cooldown_s=self._cooldown_ms / 1000,
            )
        elif outcome == 2:
            log.info("llm_breaker_probe_failed", model=model, cooldown_s=self._cooldown_ms / 1000)
        if outcome:
            BREAKER_OPEN.labels(model).set(1)
        return outcome != 0

    async def succeeded(self, model: str, admission: Admission, *, failed_first: bool) -> None:
        """`failed_first`: this call counted failures of its own before it succeeded."""
        if admission is Admission.CLEAN and not failed_first:
            return
        probe = admission is Admission.PROBE
        try:
            closed = int(await self._succeed(keys=self._keys(model), args=[int(probe)]))
        except (RedisError, OSError) as exc:
            log.warning("llm_breaker_unreachable", model=model, error=str(exc))
            return
        if closed:
            BREAKER_TRANSITIONS.labels(model, "closed").inc()
            BREAKER_OPEN.labels(model).set(0)
            log.warning("llm_breaker_closed", model=model)

    async def release(self, model: str, admission: Admission) -> None:
        """A probe that ended without a verdict on the model (a bad request): let the next
        call probe instead."""
        if admission is not Admission.PROBE:
            return
        try:
            await self._redis.delete(self._names.llm_breaker(model, "probe"))
        except (RedisError, OSError) as exc:
            log.warning("llm_breaker_unreachable", model=model, error=str(exc))

    def _keys(self, model: str) -> list[str]:
        parts = ("failures", "open", "tripped", "probe")
        return [self._names.llm_breaker(model, part) for part in parts]


def circuit_breaker(
    settings: Settings, redis: aioredis.Redis, names: Names
) -> CircuitBreaker | None:
    """The breaker the settings ask for; None when `LLM_BREAKER_FAILURES` is 0 (off)."""
    if settings.llm_breaker_failures <= 0:
        return None
    return CircuitBreaker(
        redis,
        names,
        failures=settings.llm_breaker_failures,
        window_s=settings.llm_breaker_window_seconds,
        cooldown_s=settings.llm_breaker_cooldown_seconds,
        # A probe that never reports (its process died) frees the model after one request.
        probe_ttl_s=settings.llm_timeout_seconds + 5,
    )
