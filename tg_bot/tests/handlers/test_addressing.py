"""Which group messages are for the bot, and what they say once the mention is gone."""

from __future__ import annotations

import pytest

from sandbox import telegram_updates as build
from tg_bot.src.clients.types import TgMessage
from tg_bot.src.handlers.addressing import addressed_text, parse_command

BOT_ID, BOT = 777, "helper_bot"
GROUP = build.group_chat(-100500)
ANNA = build.user(1, "Anna")


def message(update: dict) -> TgMessage:
    body = update["message"]
    body.setdefault("message_id", 10)
    body.setdefault("date", 0)
    return TgMessage.model_validate(body)


def said(text: str) -> str | None:
    return addressed_text(message(build.group_text(GROUP, ANNA, text)), BOT_ID, BOT)


def test_a_group_message_without_mention_is_not_for_the_bot() -> None:
    assert said("what a nice day") is None
    assert said("ask helper_bot later") is None  # a name without @ is no mention


def test_a_mention_of_another_user_is_not_for_the_bot() -> None:
    assert said("@someone_else what time is it?") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@helper_bot what time is it?", "what time is it?"),
        ("@helper_bot, what time is it?", "what time is it?"),
        ("what do you think, @helper_bot?", "what do you think?"),
        ("thanks, @helper_bot", "thanks"),
        ("ask @helper_bot about Berlin", "ask about Berlin"),
        ("🏟🏟 @HELPER_BOT погода в Москве", "🏟🏟 погода в Москве"),
    ],
)
def test_a_mention_is_found_by_its_entity_and_stripped(text: str, expected: str) -> None:
    assert said(text) == expected


def test_a_text_mention_of_the_bot_counts() -> None:
    bot = build.user(BOT_ID, "Helper", is_bot=True, username=BOT)
    update = build.text_mention(GROUP, ANNA, bot, "Helper, remind me at 5", "Helper")
    assert addressed_text(message(update), BOT_ID, BOT) == "remind me at 5"


def test_a_reply_to_the_bot_is_for_the_bot_with_its_text_intact() -> None:
    bot = build.user(BOT_ID, "Helper", is_bot=True, username=BOT)
    original = {"message_id": 3, "date": 0, "chat": GROUP, "from": bot, "text": "It is 5 pm"}
    update = build.reply(GROUP, ANNA, "and in Tokyo?", original)
    assert addressed_text(message(update), BOT_ID, BOT) == "and in Tokyo?"


def test_a_reply_to_someone_else_is_not() -> None:
    original = {"message_id": 3, "date": 0, "chat": GROUP, "from": ANNA, "text": "hi"}
    assert addressed_text(message(build.reply(GROUP, ANNA, "yo", original)), BOT_ID, BOT) is None


def test_commands_for_this_bot_or_for_nobody_count_and_others_do_not() -> None:
    assert said("/help") == "/help"
    assert said("/model@helper_bot gpt-4o") == "/model@helper_bot gpt-4o"
    assert said("/help@other_bot") is None


def test_parse_command_drops_the_bot_name_and_keeps_arguments() -> None:
    call = parse_command("/TimeZone@helper_bot  Europe/Berlin ")
    assert call is not None
    assert (call.name, call.args, call.bot_username) == ("timezone", "Europe/Berlin", "helper_bot")
    assert parse_command("not /a command") is None


def test_links_and_formatting_are_no_mention() -> None:
    """Entities of other kinds (a link, bold text) neither address the bot nor are cut out."""
    text = "see https://example.com/helper_bot, it is *bold*"
    update = build.group_text(GROUP, ANNA, text)
    update["message"]["entities"] = [
        {"type": "url", "offset": 4, "length": 30},
        {"type": "bold", "offset": 42, "length": 6},
    ]
    assert addressed_text(message(update), BOT_ID, BOT) is None

    mentioned = build.group_text(GROUP, ANNA, f"@helper_bot {text}")
    mentioned["message"]["entities"].append({"type": "url", "offset": 16, "length": 30})
    assert addressed_text(message(mentioned), BOT_ID, BOT) == text
