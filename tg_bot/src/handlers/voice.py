"""/voice: whether answers also come as voice messages (`User.voice_replies`, read by the
assistant). `/voice on|off` sets it, `/voice` alone says which it is and how to change it."""

from __future__ import annotations

from common.features.texts import NO, OFF, ON, YES
from common.infrastructure.logging import get_logger
from common.infrastructure.wire import ModelCapability
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command

log = get_logger(__name__)


def wanted_state(args: str) -> bool | None:
    """True for on, False for off, None for anything else (the usage is shown)."""
    word = args.strip().casefold()
    if word in YES | ON:
        return True
    if word in NO | OFF:
        return False
    return None


async def voice(turn: Addressed, args: str, services: Services) -> str:
    if turn.user is None:
        return turn.t("refusal.not_allowed", telegram_id=turn.sender.id)
    if not args.strip():
        # Fresh, not the cached user: another replica or the admin may have changed it.
        current = await services.users.fresh(turn.user)
        return turn.t("voice.state_on" if current.voice_replies else "voice.state_off")
    wanted = wanted_state(args)
    if wanted is None:
        return turn.t("voice.unknown", word=args.strip()[:64])
    await services.users.update(turn.user, voice_replies=wanted)
    log.info("voice_replies_set", user_id=str(turn.user.id), on=wanted)
    if not wanted:
        return turn.t("voice.off")
    if await _can_speak(services):
        return turn.t("voice.on")
    return turn.t("voice.on") + "\n\n" + turn.t("voice.no_model")


async def _can_speak(services: Services) -> bool:
    """An active speech model exists (the rule the assistant picks it by)."""
    return bool(await services.rest.list_models(capability=ModelCapability.speech, limit=1))


COMMAND = Command("voice", voice)
