"""The send limits hold across limiter instances (processes) sharing one Redis."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from tests.clock import SkippingClock
from tg_bot.src.domain.rate_limiter import Limit, SendLimiter, SendLimits

RELAXED = Limit.per_second(10_000)


async def stamped_acquires(
    limiter_of: Callable[[Callable[[], float]], SendLimiter],
    clock: SkippingClock,
    chat_id: int,
    count: int,
) -> list[float]:
    """The times `count` granted sends were stamped with: the limiter's last reading of the
    clock before each was granted (another sender may move the clock on before we look)."""
    readings: list[float] = []

    def now() -> float:
        readings.append(clock.now())
        return readings[-1]

    limiter = limiter_of(now)
    stamps = []
    for _ in range(count):
        await limiter.acquire(chat_id)
        stamps.append(readings[-1])
    return stamps


async def test_a_chat_limit_is_shared_by_two_senders(redis, names) -> None:
    """On a clock the test controls: the spacing is the limiter's, not the machine's pace."""
    limits = SendLimits(overall=RELAXED, chat=Limit.per_second(5), group=Limit.per_minute(1000))
    clock = SkippingClock()

    def limiter_of(now: Callable[[], float]) -> SendLimiter:
        return SendLimiter(redis, names, limits, clock=now, sleep=clock.sleep)

    started = clock.now()
    both = await asyncio.gather(
        stamped_acquires(limiter_of, clock, 7, 5), stamped_acquires(limiter_of, clock, 7, 5)
    )
    times = sorted(both[0] + both[1])
    assert times[-1] - started >= 9 * 0.2 - 0.02
    assert all(b - a >= 0.2 - 0.02 for a, b in itertools.pairwise(times))


async def test_other_chats_are_not_held_up_by_a_busy_one(redis, names) -> None:
    """Asked without waiting (a timed version failed on a busy machine: 0.73 s for 38 sends)."""
    limits = SendLimits(overall=RELAXED, chat=Limit.per_second(1), group=Limit.per_minute(1000))
    limiter = SendLimiter(redis, names, limits)
    await limiter.acquire(1)
    assert await limiter.try_acquire(1) > 0.5  # the busy chat waits its second
    others = await asyncio.gather(*(limiter.try_acquire(chat) for chat in range(2, 40)))
    assert max(others) < 0.01  # at most the overall limit's spacing (10 000/s), not a second


async def test_a_group_is_held_to_its_per_minute_limit(redis, names) -> None:
    limits = SendLimits(overall=RELAXED, chat=RELAXED, group=Limit.per_minute(3))
    limiter = SendLimiter(redis, names, limits)
    assert [await limiter.try_acquire(-100) for _ in range(3)] == [0, 0, 0]
    assert 59 < await limiter.try_acquire(-100) <= 60
    assert await limiter.try_acquire(200) == 0  # a private chat is not the group


async def test_a_slow_send_is_counted_from_its_end_in_its_chat(redis, names) -> None:
    limits = SendLimits(overall=Limit.per_second(2), chat=Limit.per_second(2), group=RELAXED)
    limiter = SendLimiter(redis, names, limits)
    async with limiter.sending(5):
        await asyncio.sleep(0.6)  # past the chat's 0.5 s window before it ends
    assert 0.45 < await limiter.try_acquire(5) <= 0.5  # a full window from the end
    assert await limiter.try_acquire(6) == 0  # the overall limit counts from the slot


async def test_a_quick_send_stays_counted_from_its_slot(redis, names) -> None:
    limits = SendLimits(overall=RELAXED, chat=Limit.per_second(2), group=RELAXED)
    limiter = SendLimiter(redis, names, limits)
    async with limiter.sending(5):
        seconds, micros = await redis.time()  # Redis's clock, after the slot was taken
    ((_, stamp),) = await redis.zrange(names.telegram_send_limit("chat:5"), 0, -1, withscores=True)
    assert stamp <= seconds * 1_000_000 + micros  # not moved: no extra call for quick sends


async def test_a_failed_slow_send_is_counted_from_its_end_too(redis, names) -> None:
    """Telegram may have taken a send whose answer timed out."""
    limits = SendLimits(overall=RELAXED, chat=Limit.per_second(2), group=Limit.per_second(2))
    limiter = SendLimiter(redis, names, limits)
    try:
        async with limiter.sending(-300):
            await asyncio.sleep(0.6)
            raise TimeoutError
    except TimeoutError:
        pass
    assert 0.45 < await limiter.try_acquire(-300) <= 0.5
