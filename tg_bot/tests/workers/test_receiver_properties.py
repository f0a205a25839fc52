"""Property: whatever update Telegram hands out (any Unicode text, lone surrogates included,
up to 4 096 UTF-16 units, odd entities, edited messages, fields the bot does not know), the
receiver moves on past it, a private text message gets a queued message or a reply, and the
next chat's message is queued as usual.

One bot runs for all examples; hypothesis runs in a worker thread and drives the stand-in
and Redis on the test's event loop."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.tests.strategies import any_text
from sandbox import telegram_updates as build
from tests.tiers import examples
from tests.waiting import until
from tg_bot.tests.conftest import incoming, outgoing

MAX_UNITS = 4096
KNOWN = {"message_id", "date", "chat", "from", "text", "entities", "update_id"}


def within_telegram_length(text: str) -> str:
    while build.utf16_len(text) > MAX_UNITS:
        text = text[: -max(1, (build.utf16_len(text) - MAX_UNITS) // 2)]
    return text


TEXTS = st.one_of(
    any_text(80),
    st.builds(lambda piece, times: piece * times, any_text(12), st.integers(50, 700)),
).map(within_telegram_length)
ENTITIES = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                ["bold", "mention", "bot_command", "url", "text_link", "custom_emoji", "new_kind"]
            ),
            "offset": st.integers(0, 5000),
            "length": st.integers(0, 5000),
        },
        optional={"url": any_text(20), "language": any_text(5), "user": st.just({"id": 1})},
    ),
    max_size=4,
)
EXTRA = st.dictionaries(
    st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
        lambda k: k not in KNOWN and k not in build_kinds()
    ),
    st.one_of(st.none(), st.integers(), any_text(10), st.lists(st.integers(), max_size=3)),
    max_size=3,
)


#: The marker sender writes after every case, faster than the per-user limit allows.
UNLIMITED = "0"


def build_kinds() -> set[str]:
    return {"message", "edited_message", "my_chat_member", "voice", "photo", "sticker"}


UPDATES = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["message", "message", "edited_message"]),
        "text": TEXTS,
        "entities": st.one_of(st.none(), ENTITIES),
        "first_name": any_text(20),
        "extra_update": EXTRA,
        "extra_message": EXTRA,
    }
)


async def polling(telegram: Any) -> bool:
    """The bot is up and long-polling (a busy machine must not count its start-up)."""
    return telegram.calls.get("getUpdates", 0) > 0


def as_update(spec: dict[str, Any]) -> tuple[dict[str, Any], int]:
    sender = build.user(random.randint(10**8, 10**10), spec["first_name"] or "x")
    update = build.message(
        build.private_chat(sender), sender, text=spec["text"], entities=spec["entities"]
    )
    body = update.pop("message")
    body.update(spec["extra_message"])
    return {spec["kind"]: body, **spec["extra_update"]}, sender["id"]


async def test_any_update_is_received_and_the_next_chat_goes_on(
    run_bot, telegram, redis, names, rest_url
) -> None:
    loop = asyncio.get_running_loop()
    marker_sender = build.user(random.randint(10**8, 10**10), "Marker")

    async def one(spec: dict[str, Any]) -> None:
        update, chat_id = as_update(spec)
        telegram.inject(update, unfiltered=True)
        marker = f"marker {uuid.uuid4()}"
        telegram.inject(build.private_text(marker_sender, marker))

        async def marker_queued() -> bool:
            return any(m.text == marker for m in await incoming(redis, names))

        await until(marker_queued, timeout=30)
        if spec["kind"] == "message" and spec["text"].strip():

            async def heard_or_answered() -> list[Any]:
                heard = [m for m in await incoming(redis, names) if m.chat_id == chat_id]
                queued = [m for m in await outgoing(redis, names) if m.chat_id == chat_id]
                return heard + queued + telegram.sent_to(chat_id)

            assert await until(heard_or_answered), f"no answer to {spec['text']!r}"

    @settings(
        max_examples=examples(40),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(spec=UPDATES)
    def check(spec: dict[str, Any]) -> None:
        asyncio.run_coroutine_threadsafe(one(spec), loop).result(timeout=30)

    async with run_bot(RATE_LIMIT_MESSAGES_PER_MINUTE=UNLIMITED):
        await until(lambda: polling(telegram), timeout=30)
        await asyncio.to_thread(check)


CORPUS = json.loads((Path(__file__).parent / "update_corpus.json").read_text(encoding="utf-8"))


def with_sender(update: dict[str, Any], telegram_id: int) -> dict[str, Any]:
    """The corpus update from someone new (its 0 ids replaced)."""
    raw = json.dumps(update).replace('"id": 0', f'"id": {telegram_id}')
    return json.loads(raw)


async def test_a_corpus_of_real_updates_is_received_and_answered(
    run_bot, telegram, redis, names, rest_url
) -> None:
    """What real clients send (emoji sequences, RTL, bidi controls, 4 096 units, lone
    surrogates, NUL, entity types the bot does not know, forwarded and edited messages)."""
    marker_sender = build.user(random.randint(10**8, 10**10), "Marker")
    async with run_bot(RATE_LIMIT_MESSAGES_PER_MINUTE=UNLIMITED):
        await until(lambda: polling(telegram), timeout=30)
        for case in CORPUS:
            chat_id = random.randint(10**8, 10**10)
            update = with_sender(case["update"], chat_id)
            telegram.inject(update, unfiltered=True)
            marker = f"marker {uuid.uuid4()}"
            telegram.inject(build.private_text(marker_sender, marker))

            async def marker_queued(marker: str = marker) -> bool:
                return any(m.text == marker for m in await incoming(redis, names))

            await until(marker_queued, timeout=30)
            if "message" not in update:
                continue

            async def heard_or_answered(chat_id: int = chat_id) -> list[Any]:
                heard = [m for m in await incoming(redis, names) if m.chat_id == chat_id]
                queued = [m for m in await outgoing(redis, names) if m.chat_id == chat_id]
                return heard + queued + telegram.sent_to(chat_id)

            assert await until(heard_or_answered), case["name"]
