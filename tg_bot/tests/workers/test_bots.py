"""Several bots in one tg_bot (decision 0048): the default bot (TELEGRAM_TOKEN) and the
active bots rows of rest_service, each polled with its own token and offset, each answer
sent as the bot it names. Through the Telegram stand-in serving two bots, and rest_service."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from common.infrastructure.queue_messages import (
    BotChanged,
    DraftMessage,
    OutgoingKind,
    OutgoingMessage,
)
from common.infrastructure.redis_keys import TO_TELEGRAM, Names
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tests.waiting import until
from tg_bot.tests.conftest import incoming
from tg_bot.tests.handlers.test_commands import Chat

GREETING = "Welcome to the shop! Ask me about anything we sell."


@pytest.fixture
async def admin(rest_url: str, secrets: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {secrets['ADMIN_API_TOKEN']}"}
    async with httpx.AsyncClient(base_url=rest_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def shop(telegram: TelegramStandIn) -> TelegramStandIn:
    """A second bot on the stand-in, with a Telegram bot id of this test's own."""
    bot_id = random.randint(10**9, 2 * 10**9)
    return telegram.add_bot(f"{bot_id}:SHOP-{uuid.uuid4().hex}", bot_username="shop_test_bot")


@pytest.fixture
async def shop_row(
    admin: httpx.AsyncClient, shop: TelegramStandIn
) -> AsyncIterator[dict[str, Any]]:
    """The shop's bots row (the rest_service is shared: deleted afterwards, so no later
    test's tg_bot polls it)."""
    assistant = await admin.post(
        "/api/assistants/",
        json={"name": f"consultant-{uuid.uuid4().hex[:8]}", "instructions": "Sell."},
    )
    assert assistant.status_code == 201, assistant.text
    body = {
        "name": f"shop-{uuid.uuid4().hex[:8]}",
        "assistant_id": assistant.json()["id"],
        "token": shop.token,
        "greeting": GREETING,
    }
    created = await admin.post("/api/bots/", json=body)
    assert created.status_code == 201, created.text
    row: dict[str, Any] = created.json()
    yield row
    await admin.delete(f"/api/bots/{row['id']}")


def person(name: str = "Anna") -> dict[str, Any]:
    return build.user(random.randint(10**8, 10**9), name, language_code="en")


async def queued_text(redis, names: Names, text: str) -> Any:
    async def found() -> Any:
        return next((m for m in await incoming(redis, names) if m.text == text), None)

    return await until(found, 15, f"{text!r} queued")


async def test_each_bot_queues_its_messages_and_answers_as_itself(
    run_bot, telegram: TelegramStandIn, shop: TelegramStandIn, shop_row, admin, redis, names
) -> None:
    """And the row learns its bot's @username from getMe."""
    anna = person()
    async with run_bot(BOTS_REFRESH_SECONDS="0.3"):
        telegram.inject(build.private_text(anna, "hello secretary"))
        shop.inject(build.private_text(anna, "hello shop"))
        to_secretary = await queued_text(redis, names, "hello secretary")
        to_shop = await queued_text(redis, names, "hello shop")
        assert to_secretary.bot_id is None
        assert str(to_shop.bot_id) == shop_row["id"]
        assert to_shop.conversation_key != to_secretary.conversation_key
        await until(lambda: shop.actions_in(anna["id"]), 15, "typing… shown by the shop bot")

        answer = OutgoingMessage(
            message_id=uuid.uuid4(), chat_id=anna["id"], text="We sell *tea*.",
            kind=OutgoingKind.REPLY, correlation_id=str(to_shop.message_id),
            bot_id=to_shop.bot_id,
        )  # fmt: skip
        await redis.xadd(names.stream(TO_TELEGRAM), {"data": answer.to_json()})
        sent = await shop.wait_sent(1, anna["id"])
        assert sent[-1].text == "We sell tea."
        assert not telegram.sent_to(anna["id"])

        assert await Chat(shop, person("Boris")).text("/start") == GREETING
        assert await Chat(telegram, person("Vera")).text("/start") != GREETING

        async def username() -> object:
            return (await admin.get(f"/api/bots/{shop_row['id']}")).json()["telegram_username"]

        assert await until(lambda: _is(username(), "shop_test_bot"), 15, "the username recorded")


async def test_a_bots_allowed_users_apply_to_it_alone(
    run_bot, telegram: TelegramStandIn, shop: TelegramStandIn, shop_row, admin, redis, names
) -> None:
    allowed, other = person("Ann"), person("Otto")
    changed = await admin.put(
        f"/api/bots/{shop_row['id']}", json={"allowed_user_ids": [allowed["id"]]}
    )
    assert changed.status_code == 200, changed.text
    async with run_bot(BOTS_REFRESH_SECONDS="0.3"):
        refusal = await Chat(shop, other).text("what do you sell?")
        assert str(other["id"]) in refusal
        shop.inject(build.private_text(allowed, "what do you sell?"))
        assert str((await queued_text(redis, names, "what do you sell?")).bot_id) == shop_row["id"]
        telegram.inject(build.private_text(other, "remind me at 5"))  # the default bot: everyone
        assert (await queued_text(redis, names, "remind me at 5")).bot_id is None


async def test_bots_follow_their_rows_live(
    run_bot, telegram: TelegramStandIn, shop: TelegramStandIn, shop_row, admin, redis, names: Names
) -> None:
    """Told on `bots:updated` (the periodic re-read is an hour off here): a greeting changed
    applies at once, a deactivated bot stops polling and starts again, a new token restarts it."""
    anna, path = person(), f"/api/bots/{shop_row['id']}"
    notice = BotChanged(bot_id=shop_row["id"], change="updated").model_dump_json()
    async with run_bot(BOTS_REFRESH_SECONDS="3600"):
        shop.inject(build.private_text(anna, "first"))
        await queued_text(redis, names, "first")
        greeting = {"greeting": "We moved to a bigger shop."}
        assert (await admin.put(path, json=greeting)).status_code == 200
        await redis.publish(names.bots_updated, notice)
        start = Chat(shop, anna)
        await until(lambda: _greets(start, "We moved to a bigger shop."), 15, "the new greeting")

        assert (await admin.put(path, json={"is_active": False})).status_code == 200
        await redis.publish(names.bots_updated, notice)
        await until(lambda: shop.polling == 0, 15, "the shop bot no longer polled")
        polls = shop.calls["getUpdates"]
        shop.inject(build.private_text(anna, "while away"))

        assert (await admin.put(path, json={"is_active": True})).status_code == 200
        await redis.publish(names.bots_updated, notice)
        later = await queued_text(redis, names, "while away")
        assert str(later.bot_id) == shop_row["id"]
        assert shop.calls["getUpdates"] > polls

        # a new token (another Telegram bot) for the row: polled instead, as the same row
        moved = telegram.add_bot(
            f"{shop.bot_id + 1}:MOVED-{uuid.uuid4().hex}", bot_username="moved_bot"
        )
        assert (await admin.put(path, json={"token": moved.token})).status_code == 200
        await redis.publish(names.bots_updated, notice)
        moved.inject(build.private_text(anna, "to the new bot"))
        assert str((await queued_text(redis, names, "to the new bot")).bot_id) == shop_row["id"]
        await until(lambda: shop.polling == 0, 15, "the old token no longer polled")


async def _is(found: Any, wanted: object) -> bool:
    return bool(await found == wanted)


async def _greets(chat: Chat, greeting: str) -> bool:
    return await chat.text("/start") == greeting


def answer(chat_id: int, text: str, bot_id: uuid.UUID | str | None = None) -> OutgoingMessage:
    bot = uuid.UUID(str(bot_id)) if bot_id else None
    return OutgoingMessage(
        message_id=uuid.uuid4(), chat_id=chat_id, text=text, kind=OutgoingKind.REPLY, bot_id=bot,
    )  # fmt: skip


async def publish(redis, names: Names, message: OutgoingMessage) -> None:
    await redis.xadd(names.stream(TO_TELEGRAM), {"data": message.to_json()})


async def dead_letters(redis, names: Names) -> int:
    return int(await redis.xlen(names.dead(TO_TELEGRAM)))


async def test_a_bots_drafts_and_undeliverable_answers_go_through_that_bot(
    run_bot, telegram: TelegramStandIn, shop: TelegramStandIn, shop_row, redis, names, clock
) -> None:
    """The apology for an answer Telegram keeps refusing comes from the bot that failed it;
    an answer for a bot that is no row (deleted since) is dropped."""
    anna, bot_id = person(), shop_row["id"]
    shop.fail(
        "sendMessage", status=400, description="Bad Request: odd", chat_id=anna["id"], times=5
    )
    async with run_bot(clock=clock, BOTS_REFRESH_SECONDS="0.3"):
        # a draft for a bot not running yet is dropped (drafts are not kept): wait for its start
        await until(lambda: shop.calls.get("getMe"), 15, "the shop bot started")
        draft = DraftMessage(message_id=uuid.uuid4(), chat_id=anna["id"], text="Our teas", seq=1,
                             bot_id=bot_id)  # fmt: skip
        await redis.xadd(names.drafts, {"data": draft.to_json()})
        await until(lambda: shop.live.drafts_to(anna["id"]), 15, "the shop bot's draft")

        await publish(redis, names, answer(anna["id"], "never delivered", bot_id))
        [apology] = await shop.wait_sent(1, anna["id"], timeout=30)
        assert await until(lambda: dead_letters(redis, names))

        await publish(redis, names, answer(anna["id"], "from nobody", uuid.uuid4()))
        await publish(redis, names, answer(anna["id"], "from the secretary"))
        await telegram.wait_sent(1, anna["id"])
    assert [m.text for m in telegram.sent_to(anna["id"])] == ["from the secretary"]
    assert apology.parse_mode is None and len(shop.sent_to(anna["id"])) == 1
    assert not telegram.live.drafts_to(anna["id"])
    assert await dead_letters(redis, names) == 1


async def test_in_webhook_mode_each_bot_takes_its_own_webhook(
    run_bot,
    telegram: TelegramStandIn,
    shop: TelegramStandIn,
    shop_row,
    admin,
    redis,
    names,
    webhook_url,
) -> None:
    """A row's bot gets `<TELEGRAM_WEBHOOK_URL>/<row id>`; stopped, its path is gone."""
    anna, own_url = person(), f"{webhook_url}/{shop_row['id']}"
    async with run_bot(TELEGRAM_WEBHOOK_URL=webhook_url, BOTS_REFRESH_SECONDS="0.3"):
        shop.inject(build.private_text(anna, "by webhook to the shop"))
        telegram.inject(build.private_text(anna, "by webhook to the secretary"))
        to_shop = await queued_text(redis, names, "by webhook to the shop")
        to_secretary = await queued_text(redis, names, "by webhook to the secretary")
        off = await admin.put(f"/api/bots/{shop_row['id']}", json={"is_active": False})
        assert off.status_code == 200

        async def gone() -> bool:
            async with httpx.AsyncClient() as http:
                return (await http.post(own_url, json={})).status_code == 404

        await until(gone, 15, "the stopped bot's webhook path gone")
    assert (str(to_shop.bot_id), to_secretary.bot_id) == (shop_row["id"], None)
    assert shop.webhook.url == own_url
    assert shop.calls.get("getUpdates", 0) == 0


async def test_reminders_are_listed_by_the_bot_they_were_made_with(
    run_bot, telegram: TelegramStandIn, shop: TelegramStandIn, shop_row, rest, redis, names
) -> None:
    anna = person()
    async with run_bot(BOTS_REFRESH_SECONDS="0.3"):
        assert await Chat(shop, anna).text("/start") == GREETING  # anna is a user now
        user = await rest.get_user_by_telegram(anna["id"])
        await rest.create_cron_job(
            name="tea", chat_id=anna["id"], user_id=user.id, text="pick up the tea",
            cron_expression="0 9 * * *", bot_id=shop_row["id"],
        )  # fmt: skip
        in_shop = await Chat(shop, anna).text("/reminders")
        with_secretary = await Chat(telegram, anna).text("/reminders")
    assert "pick up the tea" in in_shop
    assert "pick up the tea" not in with_secretary
