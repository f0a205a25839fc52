"""/timezone: show the user's time zone, or set it from what they type (`/timezone Berlin`,
`Москва`, `UTC+3`, `Europe/Berlin`; common/features/timezones.py) or from a location they share in a
private chat. Setting one lists the reminders made under the assumed zone and offers
`/timezone move` (same clock time in the new zone) or `/timezone keep`."""

from __future__ import annotations

import contextlib
from typing import Any
from zoneinfo import ZoneInfo

from common.features.geocoding import GeocodingUnavailable, OpenMeteoGeocoder
from common.features.texts import KEEP, MOVE, NO, YES
from common.features.timezones import (
    AmbiguousTimezone,
    ResolvedZone,
    TimezoneError,
    TimezoneLookupUnavailable,
    UnsupportedOffset,
    format_offset,
    is_zone,
    resolve_timezone,
)
from common.features.zone_moves import (
    assumed_reminders,
    keep_reminders,
    local_next_run,
    move_reminders,
)
from common.infrastructure.clock import utcnow
from common.infrastructure.logging import get_logger
from common.infrastructure.wire import CronJob
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command
from tg_bot.src.i18n import Markdown

log = get_logger(__name__)


async def set_timezone(turn: Addressed, args: str, services: Services) -> str:
    wanted = args.strip()
    current = turn.user.timezone if turn.user else None
    if not wanted:
        if current:
            return turn.t("timezone.current", **_zone_now(current))
        return turn.t("timezone.unset", zone=services.settings.default_timezone)
    if turn.user is None:
        return turn.t("timezone.invalid", zone=wanted)
    if wanted.casefold() in YES | MOVE | NO | KEEP:
        return await _answer_offer(turn, services, move=wanted.casefold() in YES | MOVE)
    try:
        found = await resolve_timezone(wanted, _places(services), turn.catalogue.language)
    except TimezoneError as refused:
        return _refusal(turn, wanted, refused)
    return await _apply(turn, services, found)


async def set_from_location(turn: Addressed, services: Services) -> str:
    """A location shared in a private chat: the zone Open-Meteo names for its coordinates."""
    where = turn.message.location
    zone = None
    with contextlib.suppress(GeocodingUnavailable, KeyError, TypeError, ValueError):
        zone = await _places(services).zone_at(float(where["latitude"]), float(where["longitude"]))
    if turn.user is None or zone is None or not is_zone(zone):
        return turn.t("timezone.location_failed")
    return await _apply(turn, services, ResolvedZone(zone, "location"))


async def _apply(turn: Addressed, services: Services, found: ResolvedZone) -> str:
    assert turn.user is not None
    await services.users.update(turn.user, timezone=found.name)
    log.info("timezone_set", user_id=str(turn.user.id), zone=found.name, source=found.source)
    parts = [turn.t("timezone.set", **_zone_now(found.name))]
    if found.place:
        parts.append(turn.t("timezone.found_place", place=found.place))
    offer = await _offer(turn, services, found.name)
    if offer:
        parts.append(offer)
    return "\n\n".join(parts)


async def _offer(turn: Addressed, services: Services, zone: str) -> str | None:
    jobs = await _assumed(turn, services, zone)
    if not jobs:
        return None
    return turn.t(
        "timezone.move_offer",
        count=len(jobs),
        old=jobs[0].timezone,
        zone=zone,
        reminders=Markdown(_listed(turn, jobs)),
    )


async def _answer_offer(turn: Addressed, services: Services, *, move: bool) -> str:
    assert turn.user is not None
    # Fresh, not the cached user: the secretary may have set the zone a moment ago.
    zone = (await services.rest.get_user(turn.user.id)).timezone
    if not zone:
        return turn.t("timezone.move_needs_zone")
    jobs = await _assumed(turn, services, zone)
    if not jobs:
        return turn.t("timezone.nothing_to_move")
    if not move:
        await keep_reminders(services.rest, jobs)
        return turn.t("timezone.kept", count=len(jobs))
    report = await move_reminders(services.rest, jobs, zone)
    parts = []
    if report.moved:
        listed = Markdown(_listed(turn, report.moved))
        parts.append(turn.t("timezone.moved", count=len(report.moved), zone=zone, reminders=listed))
    if report.passed:
        listed = Markdown(_listed(turn, report.passed))
        parts.append(turn.t("timezone.move_passed", zone=zone, reminders=listed))
    return "\n\n".join(parts)


async def _assumed(turn: Addressed, services: Services, zone: str) -> list[CronJob]:
    assert turn.user is not None
    group = turn.chat_id if turn.is_group else None
    return await assumed_reminders(services.rest, str(turn.user.id), zone, group)


def _listed(turn: Addressed, jobs: list[CronJob]) -> str:
    lines = []
    for job in jobs:
        moment = local_next_run(job)
        day = turn.t("reminders.weekdays").split(",")[moment.weekday()] if moment else ""
        when = f"{day} {moment:%d.%m %H:%M}" if moment else "—"
        text = job.text or job.name
        lines.append(turn.t("timezone.reminder_item", when=when, text=text))
    return "\n".join(lines)


def _refusal(turn: Addressed, wanted: str, refused: TimezoneError) -> str:
    if isinstance(refused, AmbiguousTimezone):
        lines = [
            turn.t("timezone.candidate", place=p.label, zone=p.timezone) for p in refused.candidates
        ]
        return turn.t("timezone.ambiguous", text=wanted, places=Markdown("\n".join(lines)))
    if isinstance(refused, UnsupportedOffset):
        return turn.t("timezone.offset_unsupported", offset=refused.offset)
    if isinstance(refused, TimezoneLookupUnavailable):
        return turn.t("timezone.lookup_down")
    return turn.t("timezone.invalid", zone=wanted)


def _zone_now(zone: str) -> dict[str, Any]:
    now = utcnow().astimezone(ZoneInfo(zone))
    return {"zone": zone, "offset": format_offset(now.utcoffset()), "time": now.strftime("%H:%M")}


def _places(services: Services) -> OpenMeteoGeocoder:
    settings = services.settings
    return OpenMeteoGeocoder(
        services.http,
        settings.geocoding_api_url,
        settings.weather_api_url,
        settings.geocoding_timeout_seconds,
    )


COMMAND = Command("timezone", set_timezone)
