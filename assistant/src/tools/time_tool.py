"""`time`: now in the user's or a named zone, conversion between zones, and a phrase (an ISO
8601 local date-time, or words: "next Friday at 3pm", "через 2 часа") resolved to a date and
time in the user's zone by `when.resolve`, which asks rather than guesses."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError
from assistant.src.tools.timezone_setting import set_user_timezone
from assistant.src.tools.when import resolve, zone


def describe(moment: datetime) -> dict[str, Any]:
    """A moment as the model can read and quote it."""
    offset = moment.strftime("%z")
    return {
        "datetime": moment.isoformat(timespec="seconds"),
        "date": moment.date().isoformat(),
        "time": moment.strftime("%H:%M"),
        "weekday": moment.strftime("%A"),
        "timezone": str(moment.tzinfo),
        "utc_offset": f"{offset[:3]}:{offset[3:]}",
    }


class TimeTool(BaseTool, tool_type="time"):
    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        action = arguments.get("action", "now")
        if action == "set_timezone":
            return await self._set_timezone(arguments, call)
        here = zone(arguments.get("timezone") or call.actor.timezone)
        now = self.services.clock().astimezone(here)
        if action == "now":
            return describe(now)
        if action == "convert":
            return self._convert(arguments, here, now)
        if action == "resolve":
            phrase = arguments.get("phrase") or arguments.get("time")
            if not phrase:
                raise ToolError("action 'resolve' needs 'phrase'")
            found = resolve(str(phrase), here, now)
            day_only = {"all_day": True, "note": "no time of day was said"} if found.all_day else {}
            return {"phrase": phrase, **describe(found.at), **day_only}
        raise ToolError(f"unknown action {action!r}: use now, convert, resolve or set_timezone")

    async def _set_timezone(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        """The speaking user's own zone (see docs/decisions, time zones)."""
        return await set_user_timezone(self.services, arguments.get("timezone"), call.actor)

    @staticmethod
    def _convert(arguments: dict[str, Any], here: ZoneInfo, now: datetime) -> Any:
        """`time` is read in `timezone` (a clock time alone is today's there)."""
        target = arguments.get("to_timezone")
        if not target:
            raise ToolError("action 'convert' needs 'to_timezone'")
        there = zone(target)
        raw = arguments.get("time")
        moment = resolve(str(raw), here, now, future=False).at if raw else now
        return {"from": describe(moment), "to": describe(moment.astimezone(there))}
