"""`time`: now in the user's or a named zone, conversion between zones, and a phrase
("next Friday at 3pm", "через 2 часа") resolved to a date and time in the user's zone."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dateparser

from assistant.src.tools.base import BaseTool, ToolCallContext, ToolError
from assistant.src.tools.timezone_setting import set_user_timezone

_FALLBACK_LANGUAGES = ("en", "ru")

# dateparser reads "в 10" as nothing and does not know "утра"/"вечера": make them clock times.
_RU_HOUR = re.compile(
    r"\bв\s+(\d{1,2})(?::(\d{2}))?(?:\s*(утра|дня|вечера|ночи))?(?![\d:])", re.IGNORECASE
)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ToolError(f"unknown timezone {name!r}: use an IANA name like Europe/Berlin") from exc


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


def _normalize(phrase: str) -> str:
    def clock(match: re.Match[str]) -> str:
        hour, minute, part = int(match[1]), match[2] or "00", (match[3] or "").lower()
        if part in {"дня", "вечера"} and hour < 12:
            hour += 12
        elif part == "ночи" and hour == 12:
            hour = 0
        return f"в {hour:02d}:{minute}"

    return _RU_HOUR.sub(clock, phrase.strip())


def resolve_phrase(phrase: str, tz: ZoneInfo, now: datetime, language: str | None) -> datetime:
    """The moment a phrase names, in `tz`, relative to `now`; dates prefer the future."""
    settings: dict[str, Any] = {
        "TIMEZONE": str(tz),
        "TO_TIMEZONE": str(tz),
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.astimezone(tz).replace(tzinfo=None),
    }
    text = _normalize(phrase)
    languages = list(dict.fromkeys([*([language] if language else []), *_FALLBACK_LANGUAGES]))
    try:
        found = dateparser.parse(text, languages=languages, settings=settings)
    except ValueError:
        found = dateparser.parse(text, languages=list(_FALLBACK_LANGUAGES), settings=settings)
    if found is None:
        raise ToolError(f"could not understand {phrase!r} as a date or time")
    return found.astimezone(tz)


def warm_up() -> None:
    """dateparser loads its language data on first use (a quarter second): do it at start."""
    resolve_phrase("in 2 hours", ZoneInfo("UTC"), datetime.now(ZoneInfo("UTC")), "ru")


class TimeTool(BaseTool, tool_type="time"):
    async def run(self, arguments: dict[str, Any], call: ToolCallContext) -> Any:
        action = arguments.get("action", "now")
        if action == "set_timezone":
            return await self._set_timezone(arguments, call)
        here = zone(arguments.get("timezone") or call.actor.timezone)
        now = datetime.now(here)
        if action == "now":
            return describe(now)
        if action == "convert":
            return await self._convert(arguments, here, now, call)
        if action == "resolve":
            phrase = arguments.get("phrase") or arguments.get("time")
            if not phrase:
                raise ToolError("action 'resolve' needs 'phrase'")
            moment = await asyncio.to_thread(resolve_phrase, phrase, here, now, call.actor.language)
            return {"phrase": phrase, **describe(moment)}
        raise ToolError(f"unknown action {action!r}: use now, convert, resolve or set_timezone")

    async def _set_timezone(self, arguments: dict[str, Any], call: ToolCallContext) -> Any:
        """The speaking user's own zone (docs/architecture.md, "Time zones")."""
        return await set_user_timezone(self.services, arguments.get("timezone"), call.actor)

    @staticmethod
    async def _convert(
        arguments: dict[str, Any], here: ZoneInfo, now: datetime, call: ToolCallContext
    ) -> Any:
        target = arguments.get("to_timezone")
        if not target:
            raise ToolError("action 'convert' needs 'to_timezone'")
        there = zone(target)
        raw = arguments.get("time")
        moment = (
            await asyncio.to_thread(resolve_phrase, raw, here, now, call.actor.language)
            if raw
            else now
        )
        return {"from": describe(moment), "to": describe(moment.astimezone(there))}
