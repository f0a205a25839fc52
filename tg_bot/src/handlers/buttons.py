"""A tapped button (a callback query) in, one `Outcome` out: the same allow-list, blocking and
flood rules as a message, then the button's handler acts once and the message it was under is
edited (new text, buttons dropped or renewed) through the same queue as every reply.

Once only: the first tap claims `Names.button_used(chat, message, target)` with its callback
query's id (SET NX); another tap of the message's buttons for the same target (a double tap,
the other button of a Yes / No) is told it was already done, while the same query again (a
replayed update) acts again, idempotently, and comes to the same reply (same derived id). A tap
that changed nothing (someone else's button, an unknown one) gives the claim back. Every query
is answered, best effort, so the button's spinner stops.
"""

from __future__ import annotations

from dataclasses import replace

from redis.exceptions import RedisError

from common.features.buttons import ButtonAction, decode
from common.features.language import choose_language
from common.infrastructure.errors import DependencyUnavailableError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import incoming_message_id
from tg_bot.src.clients.errors import TelegramError
from tg_bot.src.clients.types import TgCallbackQuery, TgMessage
from tg_bot.src.handlers import (
    briefings,
    calendar,
    catalogue_items,
    confirmations,
    feedback,
    forget,
    handoffs,
    memory,
    model,
    pairing,
    reminders,
    tasks,
)
from tg_bot.src.handlers.base import Addressed, BotIdentity, Outcome, Services, claimed
from tg_bot.src.handlers.commands import Press, Pressed, PressHandler, reply_to
from tg_bot.src.handlers.language import user_language
from tg_bot.src.handlers.pairing import press_gate
from tg_bot.src.i18n import CATALOGUE

log = get_logger(__name__)

#: How long a used button stays used (a double tap, a replayed update come within it); later,
#: the handlers' own checks (the reminder is gone, the snooze's idempotency key, the /forget
#: question no longer pending) still keep a button from acting twice.
BUTTON_USED_TTL_S = 24 * 3600
#: Telegram shows at most 200 characters of a callback query's answer.
_NOTICE_CHARS = 200

HANDLERS: dict[ButtonAction, PressHandler] = {
    **reminders.BUTTONS,
    **briefings.BUTTONS,
    **model.BUTTONS,
    **forget.BUTTONS,
    **calendar.BUTTONS,
    **confirmations.BUTTONS,
    **memory.BUTTONS,
    **tasks.BUTTONS,
    **catalogue_items.BUTTONS,
    **feedback.BUTTONS,
    **handoffs.BUTTONS,
    **pairing.BUTTONS,
}


async def button_pressed(
    update_id: int, query: TgCallbackQuery, services: Services, bot: BotIdentity
) -> Outcome:
    message = query.message
    language = choose_language(app=query.sender.language_code)
    if message is None or query.sender.is_bot:
        # Too old for Telegram to say which message: nothing to act on.
        await _notify(services, query, CATALOGUE.text(language, "button.unknown"))
        return Outcome(update_id, "button_unknown")
    turn = replace(_turn(update_id, query, message, bot, language), bot_id=services.bot_id)
    refused = await press_gate(turn, services)
    if refused is not None:
        log.info("sender_refused", telegram_id=query.sender.id, chat_id=turn.chat_id)
        await _notify(services, query, turn.t("button.refused"))
        return refused
    user, created = await services.users.identify(query.sender)
    if user.blocked:
        await _notify(services, query, None)
        return Outcome(update_id, "blocked")
    turn = replace(turn, user=user, created=created)
    turn = replace(turn, catalogue=CATALOGUE.speaking(await user_language(turn, services, None)))
    return await _admitted(turn, query, services)


async def _admitted(turn: Addressed, query: TgCallbackQuery, services: Services) -> Outcome:
    data = decode(query.data)
    if data is None:
        log.info("button_unknown", chat_id=turn.chat_id)
        await _notify(services, query, turn.t("button.unknown"))
        return Outcome(turn.update_id, "button_unknown")
    admission = await services.message_limit.admit(turn.sender.id, str(turn.incoming_id))
    if not admission.admitted:
        await _notify(services, query, turn.t("limit.flood", seconds=admission.wait_seconds))
        return Outcome(turn.update_id, "limited")
    press = Press(turn, query.id, data)
    claim = services.names.button_used(turn.chat_id, turn.message.message_id, data.target)
    if not await _claim(services, claim, query.id):
        await _notify(services, query, turn.t("button.used"))
        return Outcome(turn.update_id, "button_used")
    pressed = await _act(press, services, claim)
    await _notify(services, query, pressed.notice)
    if pressed.reply is None:
        await services.redis.delete(claim)
        follow = [reply_to(turn, pressed.follow_up)] if pressed.follow_up is not None else []
        return Outcome(turn.update_id, "button", incoming=pressed.incoming, replies=follow)
    edit = turn.reply(pressed.reply.text).model_copy(
        update={
            "buttons": pressed.reply.buttons,
            "edit_telegram_message_id": turn.message.message_id,
            "reply_to_telegram_message_id": None,
        }
    )
    log.info("button_pressed", action=data.action.value, chat_id=turn.chat_id)
    return Outcome(turn.update_id, "button", incoming=pressed.incoming, replies=[edit])


async def _act(press: Press, services: Services, claim: str) -> Pressed:
    """The handler's answer; a failure that trying again will not mend gives the button back
    and says sorry instead of leaving the tap unanswered."""
    try:
        return await HANDLERS[press.data.action](press, services)
    except (DependencyUnavailableError, RedisError):
        raise
    except Exception:
        log.exception("button_failed", action=press.data.action.value)
        await services.redis.delete(claim)
        return Pressed(press.turn.t("button.failed"))


async def _claim(services: Services, key: str, query_id: str) -> bool:
    """True for the first tap, and for the same query once more (a replayed update)."""
    return await claimed(services.redis, key, query_id, BUTTON_USED_TTL_S)


async def _notify(services: Services, query: TgCallbackQuery, text: str | None) -> None:
    """Answer the callback query (the spinner stops); best effort: a query answered already
    (a replayed update) or too old is no reason to lose the reply."""
    if services.telegram is None:
        return
    notice = text[:_NOTICE_CHARS] if text else None
    try:
        await services.telegram.answer_callback_query(query.id, text=notice)
    except TelegramError as exc:
        log.info("callback_answer_failed", error=str(exc)[:200])


def _turn(
    update_id: int,
    query: TgCallbackQuery,
    message: TgMessage,
    bot: BotIdentity,
    language: str | None,
) -> Addressed:
    """The presser, in the chat of the message the button is under."""
    return Addressed(
        update_id=update_id,
        message=message,
        sender=query.sender,
        text="",
        incoming_id=incoming_message_id(bot.id, update_id),
        catalogue=CATALOGUE.speaking(language),
    )
