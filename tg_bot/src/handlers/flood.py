"""Messages per user per minute (RATE_LIMIT_MESSAGES_PER_MINUTE), checked before a message
is queued for the assistant: a flood then costs one Redis call per message, never an LLM
call. The first refused message of a flood is answered politely, once; the rest are dropped
until the window frees a place."""

from __future__ import annotations

from common.features.limits import LIMIT_REFUSALS
from common.infrastructure.logging import get_logger
from tg_bot.src.handlers.base import Addressed, Outcome, Services

log = get_logger(__name__)


async def over_limit(
    turn: Addressed, services: Services, member: str | None = None
) -> Outcome | None:
    """None when the message may go to the assistant; else what to do instead. `member`
    counts several updates as one message (the parts of an album)."""
    counted = member or str(turn.incoming_id)
    admission = await services.message_limit.admit(turn.sender.id, counted)
    if admission.admitted:
        return None
    LIMIT_REFUSALS.labels("messages_per_minute").inc()
    log.info("message_rate_limited", telegram_id=turn.sender.id, told=admission.notify)
    if not admission.notify:
        return Outcome(turn.update_id, "limited")
    text = turn.t("limit.flood", seconds=admission.wait_seconds)
    return Outcome(turn.update_id, "limited", replies=[turn.reply(text)])
