"""/memory: the profile facts the assistant keeps about the sender (what they told it about
themselves), each in full with a Delete button: the user sees exactly what is stored (a long
list goes out as several messages, cut between facts, each within Telegram's limit). Private
chats only: facts are never shown in a group. A Delete acts once (the buttons' claim); a fact
gone already is answered politely with the list as it is now.

`/memory edit <n> <new words>` changes fact n in its place (its vector goes with the old
words); `/memory clear` asks Yes / No (or `/memory clear confirm` within a few minutes, as
/forget) before deleting them all."""

from __future__ import annotations

from uuid import UUID

from common.features.buttons import ButtonAction, ButtonData, button
from common.features.texts import YES
from common.infrastructure.errors import ConflictError, ValidationFailedError
from common.infrastructure.queue_messages import Button
from common.infrastructure.wire import (
    PROFILE_FACT_MAX_CHARS,
    PROFILE_FACTS_MAX,
    ProfileFact,
    User,
)
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command, Press, Pressed, PressHandler, Reply
from tg_bot.src.i18n import Markdown

_BUTTONS_PER_ROW = 2


async def show_memory(turn: Addressed, args: str, services: Services) -> str | Reply:
    if turn.is_group:
        return turn.t("memory.private_only")
    if turn.user is None:
        return turn.t("error.generic")
    verb, _, rest = args.strip().partition(" ")
    verb = verb.casefold()
    if verb == "edit":
        return await _edit(turn, turn.user, rest, services)
    if verb == "clear":
        return await _clear(turn, turn.user, rest, services)
    if verb:
        return turn.t("memory.usage")
    return await _listing(turn, turn.user, services)


async def _edit(turn: Addressed, user: User, args: str, services: Services) -> str | Reply:
    """`<n> <new words>`: fact n (as /memory numbers them) says the new words."""
    number, _, words = args.strip().partition(" ")
    text = " ".join(words.split())
    if not number.isdecimal() or not text:
        return turn.t("memory.usage")
    if len(text) > PROFILE_FACT_MAX_CHARS:
        return turn.t("memory.too_long", max=PROFILE_FACT_MAX_CHARS)
    facts = await _facts(user, services)
    n = int(number)
    if not 1 <= n <= len(facts):
        return turn.t("memory.no_such", n=n)
    try:
        changed = await services.rest.update_fact(user.id, facts[n - 1].id, text)
    except ConflictError:
        return turn.t("memory.duplicate")
    except ValidationFailedError:
        return turn.t("memory.usage")
    if changed is None:
        return turn.t("memory.stale_notice")
    after = await _listing(turn, user, services)
    said = turn.t("memory.edited", n=n, fact=changed.text)
    return Reply(f"{said}\n\n{after.text}", after.buttons)


async def _clear(turn: Addressed, user: User, args: str, services: Services) -> str | Reply:
    """Yes / No first; `clear confirm` within the window deletes at once."""
    pending = services.names.telegram_memory_clear_pending(turn.sender.id)
    if args.strip().casefold() in YES and await services.redis.delete(pending):
        await services.rest.clear_facts(user.id)
        return turn.t("memory.cleared")
    facts = await _facts(user, services)
    if not facts:
        return turn.t("memory.empty")
    await services.redis.set(pending, "1", ex=services.settings.forget_confirm_seconds)
    owner = str(turn.sender.id)
    buttons = [
        button(turn.t("memory.clear_yes"), ButtonData(ButtonAction.MEMORY_CLEAR_YES, owner)),
        button(turn.t("memory.clear_no"), ButtonData(ButtonAction.MEMORY_CLEAR_NO, owner)),
    ]
    return Reply(turn.t("memory.clear_confirm", count=len(facts)), [buttons])


async def clear_yes_pressed(press: Press, services: Services) -> Pressed:
    turn = press.turn
    if press.data.target != str(turn.sender.id) or turn.is_group:
        return Pressed(turn.t("button.not_yours"))
    pending = services.names.telegram_memory_clear_pending(turn.sender.id)
    if turn.user is None or not await services.redis.delete(pending):
        return Pressed(turn.t("forget.stale_notice"), Reply(turn.t("memory.clear_stale")))
    await services.rest.clear_facts(turn.user.id)
    return Pressed(turn.t("memory.deleted_notice"), Reply(turn.t("memory.cleared")))


async def clear_no_pressed(press: Press, services: Services) -> Pressed:
    turn = press.turn
    if press.data.target != str(turn.sender.id):
        return Pressed(turn.t("button.not_yours"))
    await services.redis.delete(services.names.telegram_memory_clear_pending(turn.sender.id))
    return Pressed(turn.t("forget.kept_notice"), Reply(turn.t("memory.clear_kept")))


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


BUTTONS: dict[ButtonAction, PressHandler] = {
    ButtonAction.MEMORY_DELETE: delete_pressed,
    ButtonAction.MEMORY_CLEAR_YES: clear_yes_pressed,
    ButtonAction.MEMORY_CLEAR_NO: clear_no_pressed,
}

COMMAND = Command("memory", show_memory)
