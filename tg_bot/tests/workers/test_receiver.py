"""Receiving: updates from the stand-in become queued messages for the assistant, or the
bot's own answers; groups only when the bot is addressed; strangers refused; the offset
moves only once the update is queued."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import uuid

import httpx
import pytest

from common.infrastructure.clock import utcnow
from common.infrastructure.errors import NotFoundError
from common.infrastructure.queue import StreamPublisher
from common.infrastructure.queue_messages import OutgoingMessage, incoming_message_id
from common.infrastructure.redis_keys import TO_SECRETARY, TO_TELEGRAM
from common.infrastructure.rest_client import RestClient
from common.tests.spans import named, recorded
from sandbox import telegram_updates as build
from tests.waiting import until
from tg_bot.tests.conftest import incoming


def someone(language: str = "en", name: str = "Anna") -> dict:
    return build.user(random.randint(10**8, 10**9), name, username=f"u{uuid.uuid4().hex[:8]}",
                      language_code=language)  # fmt: skip


def a_group() -> dict:
    return build.group_chat(-random.randint(10**12, 10**13), "Team")


@pytest.fixture
async def rest(rest_url: str, secrets: dict[str, str]):
    async with RestClient(rest_url, secrets["SERVICE_API_TOKEN"]) as client:
        yield client


async def queued(redis, names, count: int = 1, timeout: float = 10.0):
    async def enough():
        found = await incoming(redis, names)
        return found if len(found) >= count else None

    return await until(enough, timeout)


async def test_a_private_message_is_queued_as_an_incoming_message(
    run_bot, telegram, redis, names, rest
) -> None:
    anna = someone()
    async with run_bot():
        injected = utcnow()
        update_id = telegram.inject(build.private_text(anna, "What's the weather in Berlin?"))
        [message] = await queued(redis, names)
        seen = utcnow()
        await until(lambda: redis.get(names.telegram_bot_offset(telegram.bot_id)))
        offset = int(await redis.get(names.telegram_bot_offset(telegram.bot_id)))
    user = await rest.get_user_by_telegram(anna["id"])
    assert message.message_id == incoming_message_id(telegram.bot_id, update_id)
    assert (message.chat_id, message.chat_type, message.text) == (
        anna["id"],
        "private",
        "What's the weather in Berlin?",
    )
    assert str(message.user_id) == str(user.id)
    assert (message.telegram_user_id, message.username, message.first_name) == (
        anna["id"],
        anna["username"],
        "Anna",
    )
    assert message.language_code == "en" and message.telegram_message_id == 1
    assert message.conversation_key == str(user.id)
    assert offset == update_id + 1
    assert telegram.sent == []
    # when tg_bot took the update up: its answer's delivery is timed from it
    assert message.received_at is not None and injected <= message.received_at <= seen


async def test_a_failed_queueing_writes_nothing_and_keeps_the_offset(
    run_bot, telegram, redis, names, rest
) -> None:
    anna, boris = someone(), someone()
    await redis.set(names.stream(TO_SECRETARY), "not a stream")  # every XADD there fails
    async with run_bot():
        first = telegram.inject(build.private_text(anna, "one"))
        telegram.inject(build.command(build.private_chat(boris), boris, "help"))

        async def retried() -> bool:
            return sum(1 for poll in telegram.polls if first in poll.returned) >= 2

        await until(retried)
        assert await redis.get(names.telegram_bot_offset(telegram.bot_id)) is None
        assert await redis.xlen(names.stream(TO_TELEGRAM)) == 0  # /help's answer waits too
        assert telegram.sent == []
        await redis.delete(names.stream(TO_SECRETARY))
        [message] = await queued(redis, names)
        await telegram.wait_sent(1, boris["id"])
    assert message.text == "one"
    assert len(telegram.sent_to(boris["id"])) == 1


def typings(telegram, chat: dict, count: int) -> list:
    """The chat's typing actions once there are `count` of them."""
    actions = telegram.actions_in(chat["id"])
    return actions if len(actions) >= count else []


async def typing_over(redis, names, chat: dict) -> bool:
    return not await redis.exists(names.telegram_typing(chat["id"]))


async def test_typing_is_shown_until_the_answer_went_out(
    run_bot, telegram, redis, names, rest
) -> None:
    anna = someone()
    async with run_bot():
        await until(lambda: telegram.calls.get("getUpdates"), 10, "the bot polling")
        # not before: the start's calls would wait it out too
        telegram.latency = 0.4  # longer than the 0.3 s renewal: shows one call in flight at most
        telegram.inject(build.private_text(anna, "think hard"))
        [message] = await queued(redis, names)
        actions = await until(lambda: typings(telegram, anna, 2), 10, "typing shown twice")
        reply = OutgoingMessage(
            message_id=uuid.uuid4(), chat_id=anna["id"], text="Done",
            correlation_id=str(message.message_id),
        )  # fmt: skip
        await StreamPublisher(redis, names).publish(TO_TELEGRAM, reply)
        [answer] = await telegram.wait_sent(1, anna["id"])
        await until(lambda: typing_over(redis, names, anna), 10, "the chat's typing ended")
    assert len(actions) >= 2 and {a.action for a in actions} == {"typing"}
    times = [a.at for a in telegram.actions_in(anna["id"])]
    assert all(b - a >= 0.4 - 0.01 for a, b in itertools.pairwise(times))
    assert all(t <= answer.at + 0.45 for t in times)  # nothing started after the answer
    assert not await redis.exists(names.telegram_typing(anna["id"]))


async def test_typing_waits_for_a_noticeable_delay_so_a_quick_answer_shows_none(
    run_bot, telegram, redis, names, rest
) -> None:
    """The Bot API advises a chat action only when the answer takes noticeably long: one
    sent within TYPING_DELAY_SECONDS goes out without any; a slower one shows "typing…"
    from the delay on, until it went out."""
    quick, slow = someone(), someone(name="Boris")

    async def answer(chat: dict, message) -> float:
        await StreamPublisher(redis, names).publish(TO_TELEGRAM, OutgoingMessage(
            message_id=uuid.uuid4(), chat_id=chat["id"], text="Done",
            correlation_id=str(message.message_id),
        ))  # fmt: skip
        [sent] = await telegram.wait_sent(1, chat["id"])
        return sent.at

    async with run_bot(TYPING_DELAY_SECONDS="0.8"):
        telegram.inject(build.private_text(quick, "hi"))
        [first] = await queued(redis, names)
        await redis.delete(names.stream(TO_SECRETARY))
        await answer(quick, first)
        asked = asyncio.get_running_loop().time()
        telegram.inject(build.private_text(slow, "think hard"))
        [second] = await queued(redis, names)
        await until(lambda: typings(telegram, slow, 2), 10, "typing shown twice")
        answered_at = await answer(slow, second)
        await until(lambda: typing_over(redis, names, slow), 10, "the chat's typing ended")
    assert telegram.actions_in(quick["id"]) == []
    times = [a.at for a in telegram.actions_in(slow["id"])]
    assert len(times) >= 2 and times[0] >= asked + 0.8
    assert all(t <= answered_at for t in times)
    assert not await redis.exists(names.telegram_typing(quick["id"]))


async def test_a_message_right_after_a_quick_answer_still_shows_typing(
    run_bot, telegram, redis, names, rest
) -> None:
    """The chat's loop ends without asking Redis when this process sent the last answer it
    waited for; a message queued just then starts typing all the same."""
    anna = someone()

    async def answer(message) -> None:
        await StreamPublisher(redis, names).publish(TO_TELEGRAM, OutgoingMessage(
            message_id=uuid.uuid4(), chat_id=anna["id"], text="Done",
            correlation_id=str(message.message_id),
        ))  # fmt: skip

    async with run_bot(TYPING_DELAY_SECONDS="0.3"):
        telegram.inject(build.private_text(anna, "first"))
        [first] = await queued(redis, names)
        await answer(first)
        await telegram.wait_sent(1, anna["id"])
        telegram.inject(build.private_text(anna, "second"))
        [_, second] = await queued(redis, names, count=2)
        shown = len(await until(lambda: typings(telegram, anna, 1), 10, "typing shown"))
        await answer(second)
        await telegram.wait_sent(2, anna["id"])
    assert shown >= 1
    assert not await redis.exists(names.telegram_typing(anna["id"]))


CHANNEL = {"id": -(10**12) - 7, "type": "channel", "title": "News"}


@pytest.mark.parametrize(
    ("chat", "text"),
    [(a_group(), "lunch at noon, anyone?"), (CHANNEL, "@smart_assistant_test_bot lunch?")],
    ids=["group-without-mention", "channel"],
)
async def test_a_group_message_without_mention_or_a_channels_is_ignored(
    run_bot, telegram, redis, names, chat, text
) -> None:
    anna = someone()
    async with run_bot():
        update_id = telegram.inject(build.group_text(chat, anna, text))

        async def confirmed() -> bool:
            return (
                await redis.get(names.telegram_bot_offset(telegram.bot_id))
                == str(update_id + 1).encode()
            )

        await until(confirmed)
    assert await incoming(redis, names) == []
    assert telegram.sent == [] and telegram.actions == []


async def test_mention_reply_and_command_in_a_group_reach_the_bot(
    run_bot, telegram, redis, names, rest
) -> None:
    group, anna, boris = a_group(), someone(), someone(name="Boris")
    async with run_bot():
        telegram.inject(
            build.mention(group, anna, telegram.bot_username, after=", what's the time?")
        )
        [mentioned] = await queued(redis, names)
        answer = OutgoingMessage(
            message_id=uuid.uuid4(), chat_id=group["id"], text="It's 5 pm",
            reply_to_telegram_message_id=mentioned.telegram_message_id,
        )  # fmt: skip
        await StreamPublisher(redis, names).publish(TO_TELEGRAM, answer)
        [sent] = await telegram.wait_sent(1, group["id"])
        telegram.inject(build.reply(group, boris, "and in Tokyo?", sent.as_message(telegram.bot)))
        telegram.inject(build.command(group, boris, "help", bot_username=telegram.bot_username))
        _, replied = await queued(redis, names, 2)
        help_answer = (await telegram.wait_sent(2, group["id"]))[1]
    assert (mentioned.text, mentioned.chat_type, mentioned.first_name) == (
        "what's the time?",
        "supergroup",
        "Anna",
    )
    assert mentioned.conversation_key == f"chat:{group['id']}"
    assert sent.reply_to_message_id == mentioned.telegram_message_id
    assert (replied.text, replied.first_name, replied.username) == (
        "and in Tokyo?",
        "Boris",
        boris["username"],
    )
    assert "/help" in help_answer.text and help_answer.reply_to_message_id is not None
    assert len(await incoming(redis, names)) == 2  # the command went to nobody else


@pytest.mark.parametrize(
    ("language", "kind", "expected"),
    [("en", "sticker", "sticker"), ("ru", "sticker", "стикер")],
)  # fmt: skip
async def test_what_the_bot_cannot_read_gets_a_polite_answer_in_the_users_language(
    run_bot, telegram, redis, names, rest, language, kind, expected
) -> None:
    anna = someone(language)
    chat = build.private_chat(anna)
    update = getattr(build, kind)(chat, anna)
    async with run_bot():
        telegram.inject(update)
        [answer] = await telegram.wait_sent(1, anna["id"])
    assert expected in answer.text
    assert await incoming(redis, names) == []


async def test_someone_outside_the_allow_list_is_refused_politely(
    run_bot, telegram, redis, names
) -> None:
    friend, stranger = someone(), someone("ru")
    async with run_bot(ALLOWED_TELEGRAM_IDS=f"{friend['id']}, 5"):
        telegram.inject(build.private_text(stranger, "привет"))
        [refusal] = await telegram.wait_sent(1, stranger["id"])
    assert "частный ассистент" in refusal.text and str(stranger["id"]) in refusal.text
    assert await incoming(redis, names) == []


async def test_a_user_who_blocked_the_bot_is_ignored_until_they_unblock_it(
    run_bot, telegram, redis, names, rest
) -> None:
    anna = someone()
    async with run_bot():
        telegram.inject(build.private_text(anna, "first"))
        await queued(redis, names)
        telegram.inject(build.bot_membership(anna, telegram.bot, blocked=True))
        await until(lambda: _blocked(rest, anna["id"]))
        telegram.inject(build.private_text(anna, "while blocked"))
        telegram.inject(build.bot_membership(anna, telegram.bot, blocked=False))
        telegram.inject(build.private_text(anna, "back again"))
        messages = await queued(redis, names, 2)
    assert [m.text for m in messages] == ["first", "back again"]
    assert not (await rest.get_user_by_telegram(anna["id"])).blocked


async def test_a_403_marks_the_user_blocked_and_drops_the_answer(
    run_bot, telegram, redis, names, rest
) -> None:
    anna = someone()
    async with run_bot():
        telegram.inject(build.private_text(anna, "hello"))
        await queued(redis, names)
        telegram.blocked_chats.add(anna["id"])
        answer = OutgoingMessage(message_id=uuid.uuid4(), chat_id=anna["id"], text="hi")
        await StreamPublisher(redis, names).publish(TO_TELEGRAM, answer)
        await until(lambda: _blocked(rest, anna["id"]))

        async def acked() -> bool:
            return await redis.xlen(names.stream(TO_TELEGRAM)) == 0

        await until(acked)
    assert [r.status for r in telegram.rejected if r.method == "sendMessage"] == [403]
    assert await redis.xlen(names.dead(TO_TELEGRAM)) == 0


async def test_get_updates_failures_are_retried_with_backoff(
    run_bot, telegram, redis, names
) -> None:
    telegram.fail("getUpdates", status=502, times=3)
    stranger = someone()
    async with run_bot(ALLOWED_TELEGRAM_IDS="5"):
        telegram.inject(build.private_text(stranger, "hello?"))
        await telegram.wait_sent(1, stranger["id"])
    failed = [r.at for r in telegram.rejected if r.method == "getUpdates"]
    assert len(failed) == 3
    assert failed[2] - failed[1] > failed[1] - failed[0] > 0  # waits grow


async def test_an_unreadable_update_is_skipped_and_the_next_one_handled(
    run_bot, telegram, redis, names
) -> None:
    stranger = someone()
    broken = build.private_text(stranger, "from the future")
    broken["message"]["date"] = "tomorrow"  # not a Bot API date
    async with run_bot(ALLOWED_TELEGRAM_IDS="5"):
        telegram.inject(broken)
        last = telegram.inject(build.private_text(stranger, "hello?"))
        [refusal] = await telegram.wait_sent(1, stranger["id"])

        async def moved_on() -> bool:
            return (
                await redis.get(names.telegram_bot_offset(telegram.bot_id))
                == str(last + 1).encode()
            )

        await until(moved_on)
    assert str(stranger["id"]) in refusal.text


async def test_the_commands_are_registered_in_every_language(run_bot, telegram) -> None:
    async with run_bot():

        async def registered() -> bool:
            return set(telegram.commands) == {"", "ru", "uk", "de"}

        await until(registered)
    english = {c["command"]: c["description"] for c in telegram.commands[""]}
    russian = {c["command"]: c["description"] for c in telegram.commands["ru"]}
    assert set(english) == set(russian)
    assert set(english) >= {"start", "help", "model", "reset", "timezone", "forget"}
    assert english["reset"] != russian["reset"]


async def _blocked(rest: RestClient, telegram_id: int) -> bool:
    try:
        return bool((await rest.get_user_by_telegram(telegram_id)).blocked)
    except NotFoundError:
        return False


async def test_a_lone_surrogate_is_cleaned_and_no_chat_stops_receiving(
    run_bot, telegram, redis, names, rest
) -> None:
    """Telegram's JSON can carry "\\ud800"; UTF-8 cannot. The update is queued with U+FFFD
    in its place, and the chats after it are received as usual."""
    anna, boris = someone(), someone()
    async with run_bot():
        telegram.inject(build.private_text(anna, "hi \ud800 there \U0001f600"))
        telegram.inject(build.private_text(boris, "and me"))
        first, second = await queued(redis, names, 2)
        telegram.inject(build.private_text(anna, "still here"))
        *_, third = await queued(redis, names, 3)
    assert first.text == "hi \ufffd there \U0001f600" and first.chat_id == anna["id"]
    assert (second.text, third.text) == ("and me", "still here")


async def test_a_stored_offset_ahead_of_telegram_is_not_trusted(
    run_bot, telegram, redis, names, rest
) -> None:
    """A stale offset (another sequence, another token) must not confirm new updates away."""
    await redis.set(names.telegram_bot_offset(telegram.bot_id), 10**9)
    anna = someone()
    async with run_bot():
        telegram.inject(build.private_text(anna, "am I heard?"))
        [message] = await queued(redis, names)
    assert message.text == "am I heard?"


async def test_a_restarted_update_id_sequence_is_followed(
    run_bot, telegram, redis, names, rest
) -> None:
    anna = someone()
    offset_key = names.telegram_bot_offset(telegram.bot_id)
    async with run_bot():
        before = telegram.inject(build.private_text(anna, "before"))
        await queued(redis, names)

        async def confirmed() -> bool:  # the batch's offset went to Telegram, which dropped it
            return all(u["update_id"] != before for u in telegram.updates)

        await until(confirmed)
        telegram.restart_update_ids(7)
        restarted = telegram.inject(build.private_text(anna, "after the restart"))
        telegram.inject(build.private_text(anna, "and again"))
        messages = await queued(redis, names, 3)

        async def followed() -> bool:
            return await redis.get(offset_key) == str(restarted + 2).encode()

        await until(followed)
    assert restarted == 7
    assert [m.text for m in messages] == ["before", "after the restart", "and again"]


async def test_a_restart_while_the_bot_was_down_is_followed(
    run_bot, telegram, redis, names, rest
) -> None:
    anna = someone()
    async with run_bot():
        telegram.inject(build.private_text(anna, "before"))
        await queued(redis, names)
    telegram.restart_update_ids(3)
    telegram.inject(build.private_text(anna, "after"))
    async with run_bot():
        messages = await queued(redis, names, 2)
    assert [m.text for m in messages] == ["before", "after"]


async def test_a_replayed_batch_is_neither_queued_nor_routed_twice(
    run_bot, telegram, redis, names, rest
) -> None:
    """Queued, then the process stopped before the offset reached Telegram: the next start
    gets the batch again and recognises it (a command is not run again either)."""
    anna = someone()
    help_command = build.command(build.private_chat(anna), anna, "help")
    replay = [build.private_text(anna, "once"), help_command]
    async with run_bot():
        ids = [telegram.inject(update) for update in replay]
        await queued(redis, names)
        await telegram.wait_sent(1, anna["id"])
    for update_id, update in zip(ids, replay, strict=True):
        update = json.loads(json.dumps({**update, "update_id": update_id}))
        update["message"].update(message_id=update_id, date=0)
        telegram.updates.append(update)
    async with run_bot():

        async def replayed() -> bool:
            return any(ids[0] in p.returned for p in telegram.polls[-3:])

        await until(replayed)
        telegram.inject(build.private_text(anna, "later"))  # the batch was dealt with before
        await queued(redis, names, 2)
    assert [m.text for m in await incoming(redis, names)] == ["once", "later"]
    assert len(telegram.sent_to(anna["id"])) == 1  # /help answered once


async def test_health_reports_updates_that_wait_unqueued(
    run_bot, telegram, redis, names, rest, bot_env
) -> None:
    await redis.set(names.stream(TO_SECRETARY), "not a stream")  # every XADD there fails
    url = f"http://127.0.0.1:{bot_env['HTTP_PORT']}/health"
    async with run_bot(TELEGRAM_UNHEALTHY_AFTER_SECONDS="0.5"), httpx.AsyncClient() as http:
        telegram.inject(build.private_text(someone(), "anyone?"))

        async def degraded() -> dict | None:
            response = await http.get(url)
            return response.json() if response.status_code == 503 else None

        body = await until(degraded)
        await redis.delete(names.stream(TO_SECRETARY))
        await queued(redis, names)

        async def healthy() -> bool:
            return (await http.get(url)).status_code == 200

        await until(healthy)
    assert "not queued" in json.dumps(body)


async def test_a_traced_update_queues_its_message_with_the_updates_span_as_its_parent(
    run_bot, telegram, redis, names, rest
) -> None:
    """Decision 0069: the update's span is the first of the message's trace; the entry
    carries it in `traceparent`, so the assistant's span joins the same trace."""
    with recorded("tg_bot") as spans:
        async with run_bot():
            update_id = telegram.inject(build.private_text(someone(), "Trace me"))
            [message] = await queued(redis, names)
        update = named(spans, "telegram update")
    assert update.attributes == {"telegram.update_id": update_id}
    assert message.traceparent is not None
    assert message.traceparent.split("-")[1:3] == [
        f"{update.context.trace_id:032x}",
        f"{update.context.span_id:016x}",
    ]
