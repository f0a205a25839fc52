"""Admin login limits in Redis, per account name and per client address. Every attempt is
counted as a failure before the password is checked (so parallel guesses cannot slip past
the count); a success takes its own attempt back. From the last free failure on, each attempt
locks the next one out for a doubling delay; a locked attempt is refused with 429 and Retry-After
without looking at the password at all, so the right password waits too."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from rest_service.app.settings import Settings

#: KEYS: account failures, account lock, address failures, address lock (one Cluster slot:
#: `Names.admin_login_failures`).
#: ARGV: account free failures, address free failures, base delay ms, max delay ms, window s.
#: Returns the milliseconds to wait (0: the attempt may go ahead, and is counted).
_RESERVE = """
local wait = math.max(redis.call('PTTL', KEYS[2]), redis.call('PTTL', KEYS[4]))
if wait > 0 then return wait end
local function count(failures, lock, free)
  local n = redis.call('INCR', failures)
  redis.call('EXPIRE', failures, tonumber(ARGV[5]))
  if n >= free then
    local delay = math.min(tonumber(ARGV[3]) * 2 ^ (n - free), tonumber(ARGV[4]))
    redis.call('SET', lock, '1', 'PX', math.floor(delay))
  end
end
count(KEYS[1], KEYS[2], tonumber(ARGV[1]))
count(KEYS[3], KEYS[4], tonumber(ARGV[2]))
return 0
"""


class LoginThrottled(Exception):
    """Too many failed logins for this account or address: try again after `retry_after`."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginPolicy:
    free_per_account: int
    free_per_address: int
    base_delay_ms: int
    max_delay_ms: int
    window_s: int

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginPolicy:
        return cls(
            settings.admin_login_free_failures,
            settings.admin_login_free_failures_per_address,
            int(settings.admin_login_base_delay_seconds * 1000),
            int(settings.admin_login_max_delay_seconds * 1000),
            settings.admin_login_failure_window_seconds,
        )


def account_scope(username: str) -> str:
    """Typed names are hashed: any text is a safe, bounded key."""
    return "account:" + hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def address_scope(address: str) -> str:
    return "address:" + address[:64]


class LoginLimiter:
    def __init__(self, redis: aioredis.Redis, names: Names, policy: LoginPolicy) -> None:
        self._redis = redis
        self._names = names
        self._policy = policy
        self._reserve = redis.register_script(_RESERVE)

    def _keys(self, username: str, address: str) -> list[str]:
        account, place = account_scope(username), address_scope(address)
        return [
            self._names.admin_login_failures(account),
            self._names.admin_login_lock(account),
            self._names.admin_login_failures(place),
            self._names.admin_login_lock(place),
        ]

    async def reserve(self, username: str, address: str) -> None:
        """Counts this attempt, or raises LoginThrottled while the account or address waits."""
        p = self._policy
        args = [p.free_per_account, p.free_per_address, p.base_delay_ms, p.max_delay_ms, p.window_s]
        wait_ms = int(await self._reserve(keys=self._keys(username, address), args=args))
        if wait_ms > 0:
            raise LoginThrottled(max(1, math.ceil(wait_ms / 1000)))

    async def succeeded(self, username: str, address: str) -> None:
        """The account starts afresh; the address gets its attempt back."""
        account_failures, account_lock, address_failures, _ = self._keys(username, address)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(account_failures, account_lock)
            pipe.decr(address_failures)
            await pipe.execute()
