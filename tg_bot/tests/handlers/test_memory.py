"""/memory: the sender's profile facts with a Delete button each, in English and Russian; a
Delete acts once (a double tap is told it was done, a fact gone already is answered
politely); private only; /memory clear answered only by its asker, in time. Real handlers,
Redis, rest_service and the Telegram stand-in."""

from __future__ import annotations

from common.features.buttons import ButtonAction, ButtonData, decode
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tg_bot.src.handlers.base import Services
from tg_bot.src.handlers.commands import Reply
from tg_bot.tests.handlers import test_buttons
from tg_bot.tests.handlers.test_buttons import Tapper, answered, tapper_for, the_edit

#: test_buttons' services (real rest_service, Redis and the Telegram stand-in's client).
services = test_buttons.services


async def facts(rest: RestClient, user: TelegramUser) -> list[str]:
    return [f.text for f in await rest.list_facts(user.id)]


async def test_memory_lists_facts_and_deletes_by_button_once(
    services: Services, user: TelegramUser, rest: RestClient, telegram: TelegramStandIn
) -> None:
    await rest.add_fact(user.id, "My wife is Anna")
    meat, _ = await rest.add_fact(user.id, "I don't eat meat")
    ann = tapper_for(services, user)

    listing = await ann.command("/memory")
    assert isinstance(listing, Reply)
    assert "1. My wife is Anna" in listing.text and "2. I don't eat meat" in listing.text
    [[first, second]] = listing.buttons
    assert (first.text, second.text) == ("🗑 Delete 1", "🗑 Delete 2")
    assert decode(second.data) == ButtonData(ButtonAction.MEMORY_DELETE, str(meat.id))

    tap = ann.query(second.data, 700, listing.text)
    outcome = await ann.tap(tap)
    after = the_edit(outcome, 700)
    assert "Deleted: _I don't eat meat_" in after.text and "1. My wife is Anna" in after.text
    assert [[b.text for b in row] for row in after.buttons] == [["🗑 Delete 1"]]
    assert answered(telegram, tap) == ["Deleted."]
    assert await facts(rest, user) == ["My wife is Anna"]

    double = ann.query(second.data, 700)  # a double tap: a new query, the same button
    again = await ann.tap(double)
    assert (again.kind, again.replies) == ("button_used", [])
    assert answered(telegram, double) == ["Already done."]

    old = ann.query(second.data, 701)  # the same fact from an older list
    stale = await ann.tap(old)
    assert answered(telegram, old) == ["That one is gone already."]
    assert "My wife is Anna" in the_edit(stale, 701).text
    assert await facts(rest, user) == ["My wife is Anna"]

    last = await ann.press(first, 702)
    assert "I don't remember anything about you yet" in the_edit(last, 702).text
    assert await facts(rest, user) == []


async def test_memory_when_nothing_is_remembered(services: Services, user: TelegramUser) -> None:
    empty = await tapper_for(services, user).command("/memory")
    assert isinstance(empty, Reply) and "I don't remember anything" in empty.text
    assert empty.buttons == []


async def test_memory_in_a_group_shows_nothing(
    services: Services, user: TelegramUser, rest: RestClient
) -> None:
    await rest.add_fact(user.id, "My cat is Barsik")
    group = build.group_chat(-100123)
    ann = Tapper(services, user.telegram_id, group)
    answer = await ann.command("/memory")
    text = answer.text if isinstance(answer, Reply) else answer
    assert "Barsik" not in text and "/memory" in text


async def test_a_stranger_cannot_delete_anothers_fact(
    services: Services, user: TelegramUser, rest: RestClient
) -> None:
    fact, _ = await rest.add_fact(user.id, "My cat is Barsik")
    data = ButtonData(ButtonAction.MEMORY_DELETE, str(fact.id)).encode()
    stranger = Tapper(
        services, user.telegram_id + 7, build.private_chat(build.user(user.telegram_id + 7))
    )
    outcome = await stranger.tap(stranger.query(data, 800))
    assert "Barsik" not in "".join(r.text for r in outcome.replies)
    assert await facts(rest, user) == ["My cat is Barsik"]


def said(answer: str | Reply) -> str:
    return answer.text if isinstance(answer, Reply) else answer


async def test_clear_asks_and_only_its_asker_in_time_answers(
    services: Services, user: TelegramUser, rest: RestClient, telegram: TelegramStandIn
) -> None:
    await rest.add_fact(user.id, "My cat is Barsik")
    ann = tapper_for(services, user)
    ask = await ann.command("/memory clear")
    assert isinstance(ask, Reply) and "Delete all 1 facts" in ask.text
    [[yes, no]] = ask.buttons
    stranger = Tapper(
        services, user.telegram_id + 7, build.private_chat(build.user(user.telegram_id + 7))
    )
    for data in (yes.data, no.data):
        await stranger.tap(stranger.query(data, 900))
    assert await facts(rest, user) == ["My cat is Barsik"]

    # The question lapsed (its mark is gone): the Yes deletes nothing.
    await services.redis.delete(services.names.telegram_memory_clear_pending(user.telegram_id))
    late = ann.query(yes.data, 901)
    outcome = await ann.tap(late)
    assert "Send /memory clear to ask again" in "".join(r.text for r in outcome.replies)
    assert answered(telegram, late) == ["This question has lapsed."]
    assert await facts(rest, user) == ["My cat is Barsik"]
    assert "Delete all 1 facts" in said(await ann.command("/memory clear yes"))  # asked anew
    assert "I remember no facts" in said(await ann.command("/memory clear yes"))
    assert await facts(rest, user) == []


async def test_a_fact_gone_is_not_changed_and_its_number_is_no_more(
    services: Services, user: TelegramUser, rest: RestClient
) -> None:
    fact, _ = await rest.add_fact(user.id, "My cat is Barsik")
    ann = tapper_for(services, user)
    assert await rest.update_fact(user.id, fact.id, "My cat is Murzik") is not None
    await rest.delete_fact(user.id, fact.id)
    assert await rest.update_fact(user.id, fact.id, "My cat is Vaska") is None
    assert "no fact number 1" in said(await ann.command("/memory edit 1 My cat is Vaska"))
