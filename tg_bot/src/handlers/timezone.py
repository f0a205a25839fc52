"""/timezone: show the user's IANA time zone, or set it (`/timezone Europe/Berlin`)."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import datetime

from tg_bot.src.handlers.commands import Command
from tg_bot.src.handlers.context import Services, Turn


async def set_timezone(turn: Turn, args: str, services: Services) -> str:
    wanted = args.strip()
    current = turn.user.get("timezone") if turn.user else None
    if not wanted:
        if current:
            return turn.t("timezone.current", zone=current, time=local_time(current))
        return turn.t("timezone.unset", zone=services.settings.default_timezone)
    zone = canonical_zone(wanted)
    if zone is None or turn.user is None:
        return turn.t("timezone.invalid", zone=wanted)
    await services.users.update(turn.user, timezone=zone)
    return turn.t("timezone.set", zone=zone, time=local_time(zone))


def canonical_zone(name: str) -> str | None:
    """The IANA name for `name`, matched without regard to case (`europe/berlin`)."""
    return _zones().get(name.strip().replace(" ", "_").casefold())


@functools.cache
def _zones() -> dict[str, str]:
    return {zone.casefold(): zone for zone in zoneinfo.available_timezones()}


def local_time(zone: str) -> str:
    return datetime.now(zoneinfo.ZoneInfo(zone)).strftime("%H:%M")


COMMAND = Command("timezone", set_timezone)
