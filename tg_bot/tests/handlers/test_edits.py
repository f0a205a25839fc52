"""Edited messages: the user's last message, edited within EDIT_WINDOW_SECONDS of when it was
sent, is queued again (edited, with an id of its own); other edits are ignored; commands are
not re-run. Forum topics: the topic's id goes with the message and with every reply."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

from common.infrastructure.queue_messages import incoming_message_id
from sandbox import telegram_updates as build
from tests.waiting import until
from tg_bot.tests.conftest import incoming


def someone(language: str = "en") -> dict[str, Any]:
    return build.user(random.randint(10**8, 10**9), "Eda", username=f"u{uuid.uuid4().hex[:8]}",
                      language_code=language)  # fmt: skip


def said(sender: dict[str, Any], text: str) -> dict[str, Any]:
    """A private message dated now (an edit of it carries the same date)."""
    update = build.private_text(sender, text)
    update["message"]["date"] = int(time.time())
    return update


def edit_of(update: dict[str, Any], message_id: int, text: str, **fields: Any) -> dict[str, Any]:
    """The `edited_message` update Telegram sends when the message is edited to `text`."""
    body = dict(update["message"], message_id=message_id, text=text, **fields)
    body.setdefault("edit_date", int(time.time()))
    body["entities"] = build.detect_entities(text)
    return {"edited_message": body}


async def confirmed(redis, names, telegram, update_id: int) -> bool:
    offset = await redis.get(names.telegram_bot_offset(telegram.bot_id))
    return offset is not None and int(offset) > update_id


async def queued(redis, names, chat_id: int, count: int) -> list[Any]:
    async def enough() -> list[Any] | None:
        found = [m for m in await incoming(redis, names) if m.chat_id == chat_id]
        return found if len(found) >= count else None

    return await until(enough)


async def test_an_edit_of_the_last_message_is_queued_again_as_edited(
    run_bot, telegram, redis, names, rest_url
) -> None:
    eda = someone()
    original = said(eda, "weather in Berlni?")
    async with run_bot():
        telegram.inject(original)
        [first] = await queued(redis, names, eda["id"], 1)
        edit_id = telegram.inject(
            edit_of(original, first.telegram_message_id, "weather in Berlin?")
        )
        [_, again] = await queued(redis, names, eda["id"], 2)
    assert (again.text, again.edited) == ("weather in Berlin?", True)
    assert again.message_id == incoming_message_id(telegram.bot_id, edit_id)
    assert again.telegram_message_id == first.telegram_message_id and not first.edited
    assert telegram.sent_to(eda["id"]) == []


async def test_edits_of_older_messages_or_outside_the_window_are_ignored(
    run_bot, telegram, redis, names, rest_url
) -> None:
    eda, late = someone(), someone("ru")
    old_message = said(eda, "first question")
    late_message = said(late, "вопрос")
    late_message["message"]["date"] = int(time.time()) - 200
    async with run_bot(EDIT_WINDOW_SECONDS="120"):
        telegram.inject(old_message)
        telegram.inject(build.private_text(eda, "second question"))
        telegram.inject(late_message)
        first, _second = await queued(redis, names, eda["id"], 2)
        [late_first] = await queued(redis, names, late["id"], 1)
        ids = [
            telegram.inject(edit_of(old_message, first.telegram_message_id, "first, fixed")),
            telegram.inject(edit_of(late_message, late_first.telegram_message_id, "вопрос!")),
        ]
        await until(lambda: confirmed(redis, names, telegram, max(ids)))
        telegram.inject(said(eda, "later"))  # the edits' effects would have come before it
        await queued(redis, names, eda["id"], 3)
    assert [m.text for m in await incoming(redis, names) if m.chat_id == eda["id"]] == [
        "first question",
        "second question",
        "later",
    ]
    assert len([m for m in await incoming(redis, names) if m.chat_id == late["id"]]) == 1
    assert telegram.sent_to(eda["id"]) == [] and telegram.sent_to(late["id"]) == []


async def test_a_command_in_an_edit_is_not_run_again(
    run_bot, telegram, redis, names, rest_url
) -> None:
    eda = someone()
    question = said(eda, "what time is it")
    async with run_bot():
        telegram.inject(question)
        [first] = await queued(redis, names, eda["id"], 1)
        edit_id = telegram.inject(edit_of(question, first.telegram_message_id, "/help"))
        await until(lambda: confirmed(redis, names, telegram, edit_id))
        telegram.inject(said(eda, "later"))  # a command run would have answered before it
        texts = [m.text for m in await queued(redis, names, eda["id"], 2)]
    assert texts == ["what time is it", "later"]
    assert telegram.sent_to(eda["id"]) == []


async def test_a_zero_window_answers_no_edit(run_bot, telegram, redis, names, rest_url) -> None:
    eda = someone()
    question = said(eda, "hello")
    async with run_bot(EDIT_WINDOW_SECONDS="0"):
        telegram.inject(question)
        [first] = await queued(redis, names, eda["id"], 1)
        edit_id = telegram.inject(edit_of(question, first.telegram_message_id, "hello!"))
        await until(lambda: confirmed(redis, names, telegram, edit_id))
    assert len(await queued(redis, names, eda["id"], 1)) == 1
    assert not await redis.exists(names.last_user_message(eda["id"], eda["id"]))


async def test_forum_topic_messages_and_replies_stay_in_the_topic(
    run_bot, telegram, redis, names, rest_url
) -> None:
    eda, forum = someone(), build.group_chat(-random.randint(10**12, 10**13), "Forum")
    topic = {"message_thread_id": 77, "is_topic_message": True}
    mention = build.mention(forum, eda, telegram.bot_username, after=" weather?")
    mention["message"].update(topic)
    help_command = build.command(forum, eda, "help", bot_username=telegram.bot_username)
    help_command["message"].update(topic)
    general = build.command(forum, eda, "help", bot_username=telegram.bot_username)
    async with run_bot():
        telegram.inject(mention)
        telegram.inject(help_command)
        telegram.inject(general)
        [message] = await queued(redis, names, forum["id"], 1)
        replies = await telegram.wait_sent(2, forum["id"])
    assert message.message_thread_id == 77 and message.text == "weather?"
    assert sorted(r.message_thread_id or 0 for r in replies) == [0, 77]


async def test_an_edit_whose_record_in_redis_is_unreadable_is_ignored_not_failed(
    run_bot, telegram, redis, names, rest_url
) -> None:
    """The record of the last message is not JSON or lacks a field (written by another
    version, damaged): the edit is ignored, as one of an older message would be."""
    eda = someone()
    original = said(eda, "first question")
    async with run_bot():
        telegram.inject(original)
        [first] = await queued(redis, names, eda["id"], 1)
        key = names.last_user_message(eda["id"], eda["id"])
        for damaged in ("not json", '{"id": 1}'):
            await redis.set(key, damaged)
            edit_id = telegram.inject(edit_of(original, first.telegram_message_id, damaged))
            await until(lambda: confirmed(redis, names, telegram, edit_id))  # noqa: B023
        telegram.inject(said(eda, "later"))  # the edits' effects would have come before it
        await queued(redis, names, eda["id"], 2)
    texts = [m.text for m in await incoming(redis, names) if m.chat_id == eda["id"]]
    assert texts == ["first question", "later"]
    assert telegram.sent_to(eda["id"]) == []  # no apology either
