"""Real input end to end (every service a real process, Telegram the stand-in): what real
people, models and Telegram send must never leave a user without an answer or a chat stuck.

- a message of 4 096 characters (Telegram's limit) is answered;
- an update whose text carries a lone surrogate (JSON "\\ud800", as Telegram's JSON can) is
  answered, and the chats after it are too;
- a poison entry (valid `data`, another field not UTF-8) on either queue is dead-lettered
  and the chat's next message is answered (on `queue:to_secretary`, with an apology);
- after Telegram restarts its update_id sequence (below the stored offset), with the bot
  running and with the bot restarted, new messages are answered.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from assistant.src.assistants.phrases import CATALOGUE as PHRASES
from common.infrastructure.queue_messages import IncomingMessage, OutgoingMessage
from common.infrastructure.redis_keys import TO_SECRETARY, TO_TELEGRAM
from sandbox import telegram_updates as build
from tests.streams import stream_entries
from tests.system import Person, System
from tests.waiting import until
from tg_bot.src.i18n import CATALOGUE as BOT_TEXTS

#: tg_bot's apology for an answer it could not deliver, in any language it has.
UNDELIVERED = {BOT_TEXTS.text(language, "error.generic") for language in BOT_TEXTS.languages}

LONG = ("Plan my week: " + "standup, review, dentist, gym and a call with Masha. " * 90)[:4096]


@pytest.fixture(scope="module")
def system(whole_system: System) -> System:
    return whole_system


async def dead_entries(system: System, stream: str) -> list[dict[bytes, bytes]]:
    redis = aioredis.Redis.from_url(system.stack.env["REDIS_URL"])
    try:
        return [fields for _id, fields in await stream_entries(redis, system.names.dead(stream))]
    finally:
        await redis.aclose()


async def xadd(system: System, stream: str, fields: dict[str, str | bytes]) -> None:
    redis = aioredis.Redis.from_url(system.stack.env["REDIS_URL"])
    try:
        await redis.xadd(system.names.stream(stream), fields)  # type: ignore[arg-type]
    finally:
        await redis.aclose()


async def test_a_4096_character_message_is_answered(system: System) -> None:
    anna = Person.new("Anna")
    answer = await system.say(anna, LONG, timeout=60)
    assert answer.text.startswith("You said: Plan my week")
    asked = system.request_about("dentist, gym").last("user")
    assert asked is not None
    assert asked["content"] == LONG


async def test_a_lone_surrogate_neither_goes_unanswered_nor_stops_other_chats(
    system: System,
) -> None:
    boris, clara = Person.new("Boris"), Person.new("Clara")
    boris_chat, clara_chat = boris.id, clara.id
    system.telegram.inject(build.private_text(boris.telegram, "broken \ud800 text"))
    system.telegram.inject(build.private_text(clara.telegram, "hello from Clara"))
    to_boris = await system.next_message(boris_chat, after=0, timeout=60)
    to_clara = await system.next_message(clara_chat, after=0, timeout=60)
    assert to_boris.text == "You said: broken \ufffd text"
    assert to_clara.text == "You said: hello from Clara"


async def test_a_poison_entry_on_each_queue_is_dead_lettered_and_the_chat_goes_on(
    system: System,
) -> None:
    dora = Person.new("Dora", language="ru")
    await system.say(dora, "first")
    user = system.user_row(dora)
    assert user is not None
    poison_in = IncomingMessage(
        message_id=uuid.uuid4(), chat_id=dora.id, user_id=uuid.UUID(user["id"]),
        telegram_user_id=dora.id, language_code="ru", text="poison",
    )  # fmt: skip
    poison_out = OutgoingMessage(message_id=uuid.uuid4(), chat_id=dora.id, text="poison out")
    before = len(system.sent_to(dora.id))
    await xadd(system, TO_TELEGRAM, {"data": poison_out.to_json(), "junk": b"\xff\xfe"})
    await xadd(system, TO_SECRETARY, {"data": poison_in.to_json(), "junk": b"\xff\xfe"})

    # Two apologies, in either order: the assistant's for the turn it could not read, and
    # tg_bot's for the answer it could not deliver.
    apology = await system.next_message(
        dora.id, after=before, containing=PHRASES.text("ru", "turn_failed"), timeout=60
    )
    undelivered = await until(
        lambda: any(m.text in UNDELIVERED for m in system.sent_to(dora.id)[before:]), timeout=60
    )
    after = await system.say(dora, "are you still there?", timeout=60)

    assert apology.text == PHRASES.text("ru", "turn_failed") and undelivered
    assert after.text == "You said: are you still there?"
    assert "poison out" not in [m.text for m in system.sent_to(dora.id)]
    for stream, poison in ((TO_SECRETARY, poison_in), (TO_TELEGRAM, poison_out)):
        entries = await dead_entries(system, stream)
        assert any(str(poison.message_id).encode() in e[b"data"] for e in entries), stream


async def test_after_an_update_id_restart_new_messages_are_answered(system: System) -> None:
    erin = Person.new("Erin")
    update_id = system.telegram.inject(build.private_text(erin.telegram, "before the restart"))
    await system.next_message(erin.id, after=0)
    # The bot's next poll confirms the batch (an offset past it; the stand-in drops what is
    # confirmed), as Telegram would see it.
    await until(lambda: all(u["update_id"] != update_id for u in list(system.telegram.api.updates)))
    system.telegram.api.restart_update_ids(11)
    answer = await system.say(erin, "after the restart", timeout=60)
    assert answer.text == "You said: after the restart"

    await asyncio.to_thread(system.stack["tg_bot"].stop)
    system.telegram.api.restart_update_ids(3)
    frank = Person.new("Frank")
    system.telegram.inject(build.private_text(frank.telegram, "while the bot was down"))
    await asyncio.to_thread(system.stack.restart, "tg_bot")
    to_frank = await system.next_message(frank.id, after=0, timeout=60)
    assert to_frank.text == "You said: while the bot was down"
    await until(lambda: system.sent_to(frank.id))
