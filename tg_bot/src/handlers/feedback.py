"""👍 / 👎 under an answer whose assistant asks for feedback (decision 0051), and the comment
after a 👎.

A press is trusted only as far as Redis vouches for it: its token must name an answer the
assistant offered for rating, in this chat and from this bot; anything else (forged, expired,
another chat's) is told the answer can no longer be rated. The rating is stored in
rest_service at once, one per answer and user, so pressing again changes it; the buttons
stay. After a 👎 the bot asks what was wrong: the user's next message in the chat, within
`COMMENT_WINDOW_S`, is saved as the comment and not sent to the model; Skip ends the wait, and
so does a 👍.
"""

from __future__ import annotations

import uuid

from common.features.buttons import ButtonAction, feedback_skip_button
from common.features.feedback import COMMENT_CHARS, FeedbackAsks, RatedAnswer
from common.infrastructure.errors import ValidationFailedError
from common.infrastructure.logging import get_logger
from common.infrastructure.wire import FeedbackIn
from tg_bot.src.handlers.base import Addressed, Outcome, Services
from tg_bot.src.handlers.commands import Press, Pressed, PressHandler, Reply

log = get_logger(__name__)


def _asks(services: Services) -> FeedbackAsks:
    return FeedbackAsks(services.redis, services.names)


def _bot(services: Services) -> str | None:
    return str(services.bot_id) if services.bot_id else None


async def _rated(press: Press, services: Services) -> RatedAnswer | None:
    """What the pressed button rates, if it is an answer of this chat and bot."""
    found = await _asks(services).find(press.data.target)
    turn = press.turn
    if found is None or found.chat_id != turn.chat_id or found.bot_id != _bot(services):
        log.info("feedback_press_refused", chat_id=turn.chat_id, known=found is not None)
        return None
    return found


async def _store(
    turn: Addressed, services: Services, rated: RatedAnswer, rating: int, **comment: str
) -> bool:
    """The user's rating in rest_service; False when the answer is no longer stored (the
    history was forgotten or expired)."""
    assert turn.user is not None  # a press is answered for a known user only
    body = FeedbackIn(
        message_key=rated.message_key,
        user_id=turn.user.id,
        assistant_id=uuid.UUID(rated.assistant_id),
        rating=1 if rating > 0 else -1,
        model=rated.model,
        prompt_hash=rated.prompt_hash,
        bot_id=uuid.UUID(rated.bot_id) if rated.bot_id else None,
        **comment,
    )
    try:
        _, created = await services.rest.record_feedback(body)
    except ValidationFailedError as exc:
        log.info("feedback_not_stored", reason=str(exc)[:200])
        return False
    log.info("feedback_stored", rating=body.rating, created=created, comment=bool(comment))
    return True


async def up_pressed(press: Press, services: Services) -> Pressed:
    turn = press.turn
    rated = await _rated(press, services)
    if rated is None or not await _store(turn, services, rated, 1):
        return Pressed(turn.t("feedback.expired"))
    await _asks(services).take_comment_wait(_bot(services), turn.chat_id, turn.sender.id)
    return Pressed(turn.t("feedback.up_notice"))


async def down_pressed(press: Press, services: Services) -> Pressed:
    """Stored, and a question for the comment with Skip under it, sent as a new message."""
    turn = press.turn
    rated = await _rated(press, services)
    if rated is None or not await _store(turn, services, rated, -1):
        return Pressed(turn.t("feedback.expired"))
    token = press.data.target
    await _asks(services).wait_for_comment(_bot(services), turn.chat_id, turn.sender.id, token)
    skip = feedback_skip_button(token, turn.catalogue.language)
    ask = Reply(turn.t("feedback.ask_comment"), [[skip]])
    return Pressed(turn.t("feedback.down_notice"), follow_up=ask)


async def skip_pressed(press: Press, services: Services) -> Pressed:
    """Ends the wait for this 👎's comment, if it is the presser's; the question says so."""
    turn = press.turn
    asks = _asks(services)
    waiting = await asks.take_comment_wait(_bot(services), turn.chat_id, turn.sender.id)
    if waiting is not None and waiting != press.data.target:
        # Another 👎 of theirs still waits: put it back.
        await asks.wait_for_comment(_bot(services), turn.chat_id, turn.sender.id, waiting)
    if waiting != press.data.target and turn.is_group:
        return Pressed(turn.t("button.not_yours"))
    return Pressed(turn.t("feedback.skipped"), press.below(turn.t("feedback.skipped")))


async def comment_taken(turn: Addressed, services: Services) -> Outcome | None:
    """The user's message as the comment of the 👎 waiting for one (once), answered by the
    bot; None when none waits, and the message goes to the assistant as usual."""
    if turn.edited or turn.user is None or turn.message.text is None or not turn.text.strip():
        return None
    asks = _asks(services)
    token = await asks.take_comment_wait(_bot(services), turn.chat_id, turn.sender.id)
    rated = await asks.find(token) if token is not None else None
    if rated is None:
        return None
    comment = turn.text.strip()[:COMMENT_CHARS]
    if not await _store(turn, services, rated, -1, comment=comment):
        return None
    reply = turn.reply(turn.t("feedback.comment_saved"))
    return Outcome(turn.update_id, "feedback_comment", replies=[reply])


BUTTONS: dict[ButtonAction, PressHandler] = {
    ButtonAction.FEEDBACK_UP: up_pressed,
    ButtonAction.FEEDBACK_DOWN: down_pressed,
    ButtonAction.FEEDBACK_SKIP: skip_pressed,
}
