"""/memory: the profile facts the assistant keeps about the sender (what they told it about
themselves), each in full with a Delete button: the user sees exactly what is stored (a long
list goes out as several messages, cut between facts, each within Telegram's limit). Private
chats only: facts are never shown in a group. A Delete acts once (the buttons' claim); a fact
gone already is answered politely with the list as it is now."""

from __future__ import annotations

from uuid import UUID

from common.features.buttons import ButtonAction, ButtonData, button
from common.infrastructure.queue_messages import Button
from common.infrastructure.wire import PROFILE_FACTS_MAX, ProfileFact, User
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command, Press, Pressed, PressHandler, Reply
from tg_bot.src.i18n import Markdown

_BUTTONS_PER_ROW = 2


async def show_memory(turn: Addressed, _args: str, services: Services) -> str | Reply:
    if turn.is_group:
        return turn.t("memory.private_only")
    if turn.user is None:
        return turn.t("error.generic")
    return await _listing(turn, turn.user, services)


async def delete_pressed(press: Press, services: Services) -> Pressed:
    turn = press.turn
    if turn.is_group or turn.user is None:
        return Pressed(turn.t("button.not_yours"))
    try:
        fact_id = UUID(press.data.target)
    except ValueError:
        return Pressed(turn.t("button.unknown"))
    facts = await _facts(turn.user, services)
    gone = next((f for f in facts if f.id == fact_id), None)
    if gone is None or not await services.rest.delete_fact(turn.user.id, fact_id):
        return Pressed(turn.t("memory.stale_notice"), await _listing(turn, turn.user, services))
    after = await _listing(turn, turn.user, services)
    said = turn.t("memory.deleted", fact=gone.text)
    return Pressed(turn.t("memory.deleted_notice"), Reply(f"{said}\n\n{after.text}", after.buttons))


async def _listing(turn: Addressed, user: User, services: Services) -> Reply:
    facts = await _facts(user, services)
    if not facts:
        return Reply(turn.t("memory.empty"))
    lines = "\n".join(turn.t("memory.item", n=n, fact=f.text) for n, f in enumerate(facts, 1))
    return Reply(
        turn.t("memory.list", count=len(facts), facts=Markdown(lines)), _buttons(turn, facts)
    )


def _buttons(turn: Addressed, facts: list[ProfileFact]) -> list[list[Button]]:
    buttons = [
        button(turn.t("memory.delete", n=n), ButtonData(ButtonAction.MEMORY_DELETE, str(f.id)))
        for n, f in enumerate(facts, 1)
    ]
    return [buttons[i : i + _BUTTONS_PER_ROW] for i in range(0, len(buttons), _BUTTONS_PER_ROW)]


async def _facts(user: User, services: Services) -> list[ProfileFact]:
    return await services.rest.list_facts(user.id, limit=PROFILE_FACTS_MAX)


BUTTONS: dict[ButtonAction, PressHandler] = {ButtonAction.MEMORY_DELETE: delete_pressed}

COMMAND = Command("memory", show_memory)
