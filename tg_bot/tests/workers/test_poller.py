"""The poller in this process against the stand-in and real Redis, with routes of the test's
own (what a handler would give back, or a bug): Telegram refusing getMe or deleteWebhook, a
route that fails, an outcome that cannot be serialised, a second poller that raced ahead, an
offset kept under its name from before the Cluster hash tags, a Redis full of data."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from common.infrastructure.queue_messages import (
    IncomingMessage,
    OutgoingMessage,
    incoming_message_id,
)
from common.infrastructure.redis_keys import TELEGRAM_UPDATES, TO_SECRETARY, Names
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tests.streams import stream_entries
from tests.waiting import until
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.clients.types import TgUpdate
from tg_bot.src.handlers.base import Outcome
from tg_bot.src.settings import Settings
from tg_bot.src.workers import receiver
from tg_bot.src.workers.receiver import FullNotice, Route, UpdatePoller, UpdateQueue
from tg_bot.src.workers.typing import TypingIndicator
from tg_bot.tests.conftest import incoming, outgoing


@dataclass
class Parts:
    telegram: TelegramClient
    queue: UpdateQueue
    poller: UpdatePoller


@pytest.fixture
async def parts(
    bot_env: dict[str, str], telegram: TelegramStandIn, redis: aioredis.Redis, names: Names
) -> AsyncIterator[Parts]:
    settings = Settings()
    async with TelegramClient(telegram.url, telegram.token, request_timeout=2, retries=0) as client:
        typing = TypingIndicator(client, redis, names, interval_s=0.3, delay_s=0, max_s=30)
        queue = UpdateQueue(redis, names, typing, settings)
        yield Parts(client, queue, UpdatePoller(client, redis, names, queue, settings))
        await typing.close()


def person() -> dict:
    return build.user(random.randint(10**8, 10**9), "Anna")


def as_text(bot_id: int) -> Route:
    """What the router makes of a private text: a message for the assistant."""

    async def route(update: TgUpdate) -> Outcome:
        message = update.message
        assert message is not None and message.sender is not None
        queued = IncomingMessage(
            message_id=incoming_message_id(bot_id, update.update_id),
            chat_id=message.chat.id,
            user_id=uuid.UUID(int=message.sender.id),
            text=message.text or "",
        )
        return Outcome(update.update_id, "queued", incoming=queued)

    return route


async def polling(poller: UpdatePoller, route: Route, stop: asyncio.Event) -> asyncio.Task[None]:
    me = await poller.identify(stop)
    assert me is not None
    return asyncio.create_task(poller.run(route, stop))


async def stopped(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    stop.set()
    await asyncio.wait_for(task, 10)


async def texts_queued(redis: aioredis.Redis, names: Names, count: int) -> list[str]:
    async def enough() -> list[str] | None:
        found = [m.text for m in await incoming(redis, names)]
        return found if len(found) >= count else None

    return await until(enough, 10, f"{count} messages queued")


async def test_polling_needs_the_bots_identity_first(parts: Parts) -> None:
    with pytest.raises(RuntimeError, match="identify"):
        await parts.poller.run(as_text(1), asyncio.Event())


async def test_a_refused_get_me_is_asked_again_until_the_bot_is_known(
    parts: Parts, telegram: TelegramStandIn
) -> None:
    telegram.fail("getMe", status=401, description="Unauthorized")
    telegram.fail("getMe", status=502)
    me = await parts.poller.identify(asyncio.Event())
    assert me is not None and me.id == telegram.bot_id
    assert [r.status for r in telegram.rejected if r.method == "getMe"] == [401, 502]
    assert parts.poller.last_contact is not None


@pytest.mark.parametrize(
    "how", [{"status": 502, "times": 1000}, {"status": 0, "delay": 30}], ids=["fails", "hangs"]
)
async def test_a_stop_while_get_me_fails_or_hangs_ends_identifying_without_a_bot(
    parts: Parts, telegram: TelegramStandIn, how: dict
) -> None:
    telegram.fail("getMe", **how)
    stop = asyncio.Event()
    trying = asyncio.create_task(parts.poller.identify(stop))
    await until(lambda: telegram.calls.get("getMe", 0) >= 1, 10, "getMe asked")
    stop.set()
    assert await asyncio.wait_for(trying, 10) is None
    assert parts.poller.last_contact is None


async def test_delete_webhook_is_retried_past_a_429_and_a_5xx(
    parts: Parts, telegram: TelegramStandIn
) -> None:
    telegram.fail("deleteWebhook", status=429, retry_after=0.1)
    telegram.fail("deleteWebhook", status=500)
    done = await parts.poller.until_done(
        parts.telegram.delete_webhook, "delete_webhook", asyncio.Event()
    )
    assert done
    assert [r.status for r in telegram.rejected] == [429, 500]
    assert telegram.calls["deleteWebhook"] == 3


async def test_a_call_retried_until_the_stop_reports_it_was_not_done(
    parts: Parts, telegram: TelegramStandIn
) -> None:
    telegram.fail("deleteWebhook", status=500, times=1000)
    stop = asyncio.Event()
    trying = asyncio.create_task(
        parts.poller.until_done(parts.telegram.delete_webhook, "delete_webhook", stop)
    )
    await until(lambda: telegram.calls.get("deleteWebhook", 0) >= 2, 10, "asked again")
    stop.set()
    assert await asyncio.wait_for(trying, 10) is False


async def test_a_stop_during_the_long_poll_ends_polling_at_once(
    parts: Parts, telegram: TelegramStandIn, redis: aioredis.Redis, names: Names
) -> None:
    stop = asyncio.Event()
    task = await polling(parts.poller, as_text(telegram.bot_id), stop)
    await until(lambda: telegram.calls.get("getUpdates", 0) >= 1, 10, "a long poll under way")
    await stopped(task, stop)
    assert telegram.polls == []  # ended before the long poll answered
    assert not await incoming(redis, names)


async def test_a_conflict_on_get_updates_is_retried_and_receiving_goes_on(
    parts: Parts, telegram: TelegramStandIn, redis: aioredis.Redis, names: Names
) -> None:
    """A 409: another process polled with this token for a moment, or a webhook was set."""
    telegram.fail("getUpdates", status=409, description="Conflict: terminated by other")
    stop = asyncio.Event()
    task = await polling(parts.poller, as_text(telegram.bot_id), stop)
    telegram.inject(build.private_text(person(), "after the conflict"))
    assert await texts_queued(redis, names, 1) == ["after the conflict"]
    await stopped(task, stop)
    assert [r.status for r in telegram.rejected] == [409]


async def test_a_429_on_get_updates_waits_retry_after_then_receives(
    parts: Parts, telegram: TelegramStandIn, redis: aioredis.Redis, names: Names
) -> None:
    telegram.fail("getUpdates", status=429, retry_after=0.2)
    stop = asyncio.Event()
    task = await polling(parts.poller, as_text(telegram.bot_id), stop)
    telegram.inject(build.private_text(person(), "after the 429"))
    assert await texts_queued(redis, names, 1) == ["after the 429"]
    await stopped(task, stop)
    [refused] = telegram.rejected
    assert refused.status == 429
    assert min(p.at for p in telegram.polls) - refused.at >= 0.2


async def test_a_route_that_fails_is_tried_again_and_no_chat_is_lost(
    parts: Parts, telegram: TelegramStandIn, redis: aioredis.Redis, names: Names
) -> None:
    """A bug in routing (not the apology path: an exception out of the route itself)
    keeps the batch unconfirmed; the poller goes on and queues it once the route works."""
    failures = [RuntimeError("a bug")]
    ordinary = as_text(telegram.bot_id)

    async def buggy(update: TgUpdate) -> Outcome:
        if failures:
            raise failures.pop()
        return await ordinary(update)

    stop = asyncio.Event()
    task = await polling(parts.poller, buggy, stop)
    telegram.inject(build.private_text(person(), "still heard"))
    assert await texts_queued(redis, names, 1) == ["still heard"]
    await stopped(task, stop)
    assert not failures


async def test_an_outcome_that_cannot_be_serialised_is_dead_lettered_and_apologised_for(
    parts: Parts, telegram: TelegramStandIn, redis: aioredis.Redis, names: Names
) -> None:
    """Text UTF-8 cannot carry (a lone surrogate) made by a handler, past the cleaning of
    the update: the update is skipped with a dead letter, its sender gets an apology, and
    the rest of the batch is queued."""
    ordinary = as_text(telegram.bot_id)
    anna, boris = person(), person()

    async def garbling(update: TgUpdate) -> Outcome:
        outcome = await ordinary(update)
        assert outcome.incoming is not None
        if outcome.incoming.chat_id == anna["id"]:
            outcome.incoming = outcome.incoming.model_copy(update={"text": "bad \ud800"})
        return outcome

    broken = telegram.inject(build.private_text(anna, "hello"))
    telegram.inject(build.private_text(boris, "hi"))
    stop = asyncio.Event()
    task = await polling(parts.poller, garbling, stop)
    assert await texts_queued(redis, names, 1) == ["hi"]
    await stopped(task, stop)
    [(_id, dead)] = await stream_entries(redis, names.dead(TELEGRAM_UPDATES))
    assert dead[b"update_id"] == str(broken).encode()
    assert dead[b"error"].startswith(b"unqueueable: PydanticSerializationError")
    [apology] = await outgoing(redis, names)
    assert apology.chat_id == anna["id"] and apology.kind == "error"


async def test_a_batch_another_poller_queued_meanwhile_is_not_queued_again(
    parts: Parts, telegram: TelegramStandIn, redis: aioredis.Redis, names: Names
) -> None:
    """The commit refuses a batch when the offset moved past it while it was routed (a
    second poller raced ahead); the batch is confirmed all the same."""
    ordinary = as_text(telegram.bot_id)
    bot = telegram.bot_id

    async def raced(update: TgUpdate) -> Outcome:
        await redis.set(names.telegram_bot_offset(bot), update.update_id + 1)
        await redis.set(names.telegram_bot_offset_floor(bot), update.update_id)
        return await ordinary(update)

    update_id = telegram.inject(build.private_text(person(), "once"))
    stop = asyncio.Event()
    task = await polling(parts.poller, raced, stop)

    def confirmed() -> bool:  # a poll past it: Telegram dropped it (a poll is recorded at its end)
        return all(u["update_id"] != update_id for u in telegram.updates)

    await until(confirmed, 10, "the batch confirmed")
    await stopped(task, stop)
    assert await redis.xlen(names.stream(TO_SECRETARY)) == 0


async def test_two_replies_to_one_update_are_both_queued_once(
    parts: Parts, telegram: TelegramStandIn, redis: aioredis.Redis, names: Names
) -> None:
    anna = person()
    update_id = telegram.inject(build.private_text(anna, "/help"))
    [update] = [TgUpdate.model_validate(u) for u in telegram.updates]

    async def answered_twice(update: TgUpdate) -> Outcome:
        replies = [
            OutgoingMessage(message_id=uuid.uuid4(), chat_id=anna["id"], text=text)
            for text in ("first", "second")
        ]
        return Outcome(update.update_id, "command", replies=replies)

    for _ in range(2):  # Telegram delivers it again: the replies are not queued again
        guard = parts.queue.by_update_id(telegram.bot_id, update_id)
        await parts.queue.receive([update], answered_twice, guard)
    assert [m.text for m in await outgoing(redis, names)] == ["first", "second"]


#: REDIS_FULL_NOTICE_AFTER_SECONDS of the notices below.
AFTER = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def update_from(update: dict, update_id: int) -> TgUpdate:
    """`update` as the bot reads it once Telegram gave it an id, a message id and a date."""
    update["message"] |= {"message_id": 1, "date": 1_700_000_000}
    return TgUpdate.model_validate({"update_id": update_id, **update})


async def test_redis_full_is_told_to_a_private_sender_only_and_once(
    parts: Parts, telegram: TelegramStandIn
) -> None:
    clock = Clock()
    notice = FullNotice(parts.telegram, AFTER, clock)
    anna, group = person(), build.group_chat(-random.randint(10**12, 10**13), "Team")
    private = update_from(build.private_text(anna, "hello"), 1)
    in_group = update_from(build.group_text(group, anna, "@bot hello"), 2)
    await notice.refused([private, in_group])
    clock.now = AFTER
    await notice.refused([private, in_group])
    await notice.refused([private, in_group])
    [told] = telegram.sent
    assert told.chat_id == anna["id"] and told.parse_mode is None


async def test_redis_full_forgets_everything_past_its_memory_and_starts_again(
    parts: Parts, telegram: TelegramStandIn
) -> None:
    """It keeps no more than its memory of refused updates: past it, a refusal counts
    from then on."""
    clock = Clock()
    notice = FullNotice(parts.telegram, AFTER, clock)
    anna = person()
    updates = [
        update_from(build.private_text(anna, "hello"), i)
        for i in range(receiver._FULL_NOTICE_MEMORY + 1)
    ]
    await notice.refused(updates)
    clock.now = AFTER
    await notice.refused(updates[:1])  # the memory is full: forgotten, counted anew
    assert telegram.sent == []
    clock.now = 2 * AFTER
    await notice.refused(updates[:1])
    assert len(telegram.sent) == 1
