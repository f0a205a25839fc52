"""The `time` tool's `set_timezone` action: the speaking user says where they are ("I'm in
Tokyo this week"); the zone is resolved like /timezone does (common/features/timezones.py), stored
on the envelope's user (never on one named in the arguments), and the answer names the zone and the
local time. Reminders made under the assumed zone are listed with the offer tg_bot's `/timezone
move` carries out."""

from __future__ import annotations

from typing import Any

from assistant.src.tools.base import Actor, ToolError, ToolServices
from common.features.geocoding import OpenMeteoGeocoder
from common.features.timezones import (
    AmbiguousTimezone,
    TimezoneError,
    format_offset,
    resolve_timezone,
)
from common.features.zone_moves import assumed_reminders, local_next_run

_GEOCODING_TIMEOUT = 5.0


async def set_user_timezone(services: ToolServices, wanted: Any, actor: Actor) -> dict[str, Any]:
    if not isinstance(wanted, str) or not wanted.strip():
        raise ToolError("action 'set_timezone' needs 'timezone': an IANA name, a city or UTC+3")
    if not actor.registered:
        raise ToolError("this user is not registered, so no zone can be stored for them")
    settings = services.settings
    places = OpenMeteoGeocoder(
        services.http, settings.geocoding_api_url, settings.weather_api_url, _GEOCODING_TIMEOUT
    )
    try:
        found = await resolve_timezone(wanted, places, actor.language)
    except AmbiguousTimezone as exc:
        raise ToolError(f"{exc}. Ask the user which one they mean; set nothing yet.") from exc
    except TimezoneError as exc:
        raise ToolError(f"{exc}. Ask the user for their city or UTC offset.") from exc
    await services.rest.update_user(actor.user_id, timezone=found.name)
    now = found.now()
    offset = format_offset(now.utcoffset())
    result: dict[str, Any] = {
        "status": "set",
        "timezone": found.name,
        "utc_offset": offset,
        "local_time": now.strftime("%H:%M"),
        "local_date": now.date().isoformat(),
        "confirmation": (f"Your timezone is now {found.name} ({offset}), local time {now:%H:%M}."),
    }
    if found.place:
        result["found_by_place"] = found.place
    return result | await _move_offer(services, actor, found.name)


async def _move_offer(services: ToolServices, actor: Actor, zone: str) -> dict[str, Any]:
    group = actor.chat_id if actor.is_group else None
    jobs = await assumed_reminders(services.rest, actor.user_id, zone, group)
    if not jobs:
        return {}
    listed = []
    for job in jobs:
        moment = local_next_run(job)
        when = f"{moment:%a %d %b %H:%M}" if moment else "—"
        listed.append({"text": job.text or job.name, "next": f"{when} {job.timezone}"})
    return {
        "reminders_in_assumed_zone": listed,
        "offer": (
            f"These reminders were set in {jobs[0].timezone} because the user had no time "
            f"zone. List them and tell the user: send /timezone move to move them to {zone} "
            "keeping their clock time, or /timezone keep to leave them as they are."
        ),
    }
