"""`reminder`: create, list, cancel and snooze the user's reminders.

A reminder is a cron job in rest_service that cron_service fires. `when` is a moment ("at 18:00",
"tomorrow at 9", "in 20 minutes", "через час"), resolved like the time tool does, in the
user's timezone; `recurrence` ("every weekday at 9", "каждый понедельник в 9", or a 5-field
cron expression) becomes a cron expression evaluated in that timezone by cron_service. The
result carries the resolved local time for the answer to confirm, and says when the timezone
was assumed because the user never set one. Writes pass the call's idempotency key, so a
redelivered message makes one reminder; every action is for the envelope's user only, and in
a group only on reminders set in that group (what was set in private stays private there).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from assistant.src.tools.base import Actor, BaseTool, ToolCallContext, ToolError
from assistant.src.tools.time_tool import resolve_phrase, zone
from common.errors import ConflictError, NotFoundError, ValidationFailedError
from common.rest_client import CronJob

DEFAULT_SNOOZE_MINUTES = 10
MAX_SNOOZE_MINUTES = 7 * 24 * 60
_NAME_LENGTH = 60
_ACTIVE = "active"

_CRON = re.compile(r"^\s*(\S+\s+){4}\S+\s*$")
_CRON_FIELD = re.compile(r"^[\d*/,\-a-z]+$")
_WEEKDAYS = (  # cron numbers: 0 = Sunday
    (0, r"sun(day)?s?|воскресень\w*"),
    (1, r"mon(day)?s?|понедельник\w*"),
    (2, r"tue(s|sday)?s?|вторник\w*"),
    (3, r"wed(nesday)?s?|сред[ауы]\w*"),
    (4, r"thu(r|rs|rsday)?s?|четверг\w*"),
    (5, r"fri(day)?s?|пятниц\w*"),
    (6, r"sat(urday)?s?|суббот\w*"),
)
_WORKDAYS = re.compile(r"\b(week ?days?|work ?days?|business days?|будн\w*|рабоч\w*)\b")
_WEEKENDS = re.compile(r"\b(weekends?|выходн\w*)\b")
_DAILY = re.compile(
    r"\b(every ?day|daily|each day|every morning|every evening|кажд\w* день|ежедневно)\b"
)
_MONTH_DAY = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?(?: day)? of (?:every|each|the) month\b"
    r"|\bevery month on the (\d{1,2})(?:st|nd|rd|th)?\b"
    r"|\bmonthly on the (\d{1,2})(?:st|nd|rd|th)?\b"
    r"|\b(\d{1,2})[- ]?(?:го|е)? числа\b"
    r"|\bкаждое (\d{1,2})[- ]?(?:е)? число\b"
)
_CLOCK = re.compile(r"\b(\d{1,2})[:.](\d{2})\s*(am|pm|утра|дня|вечера|ночи)?")
_HOUR = re.compile(r"\b(?:at|в|к)\s+(\d{1,2})\s*(am|pm|утра|дня|вечера|ночи)?(?![\d:.])")
_BARE_HOUR = re.compile(r"\b(\d{1,2})\s*(am|pm)\b")
_WORD_TIMES = {r"\b(noon|midday|полдень|в полдень)\b": (12, 0), r"\b(midnight|полночь)\b": (0, 0)}


@dataclass(frozen=True)
class Recurrence:
    """A repeating reminder: a cron expression, and (for the forms we read) what it means."""

    cron: str
    hour: int | None = None
    minute: int | None = None
    weekdays: frozenset[int] | None = None
    month_day: int | None = None

    def next_after(self, now: datetime) -> datetime | None:
        """The first time at or after `now` (aware, in the reminder's zone), if we can tell."""
        if self.hour is None or self.minute is None:
            return None
        for offset in range(0, 400):
            day = now.date() + timedelta(days=offset)
            if self._matches(day):
                moment = datetime.combine(day, time(self.hour, self.minute), tzinfo=now.tzinfo)
                if moment > now:
                    return moment
        return None

    def _matches(self, day: date) -> bool:
        if self.month_day is not None and day.day != self.month_day:
            return False
        return self.weekdays is None or (day.weekday() + 1) % 7 in self.weekdays

    def describe(self) -> str:
        if self.hour is None or self.minute is None:
            return f"on the cron schedule {self.cron!r}"
        at = f"at {self.hour:02d}:{self.minute:02d}"
        if self.month_day is not None:
            return f"every month on day {self.month_day} {at}"
        if self.weekdays is None:
            return f"every day {at}"
        if self.weekdays == frozenset(range(1, 6)):
            return f"every weekday (Monday to Friday) {at}"
        names = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        days = sorted(self.weekdays, key=lambda d: (d + 6) % 7)
        return f"every {', '.join(names[d] for d in days)} {at}"


def parse_recurrence(recurrence: str, when: str | None = None) -> Recurrence:
    """`recurrence` in words (English or Russian) or as a cron expression; the time of day may
    come from `when` ("every Monday" + "9:00")."""
    text = " ".join(recurrence.lower().split())
    if _CRON.match(text) and all(_CRON_FIELD.match(f) for f in text.split()):
        return Recurrence(cron=text)
    month_day, text = _month_day(text)
    found = _time_of_day(text) or (_time_of_day(when) if when else None)
    if found is None:
        raise ToolError(
            f"at what time of day should {recurrence!r} repeat? Say e.g. 'every Monday at 9'"
        )
    hour, minute = found
    weekdays = _weekdays(text)
    if month_day is None and weekdays is None and not (_DAILY.search(text) or _repeats(text)):
        raise ToolError(
            f"could not read {recurrence!r} as a repetition: say e.g. 'every day at 8', "
            "'every weekday at 9', 'every Monday at 9', or give a cron expression"
        )
    day_field = str(month_day) if month_day is not None else "*"
    weekday_field = ",".join(str(d) for d in sorted(weekdays)) if weekdays else "*"
    if weekdays == frozenset(range(1, 6)):
        weekday_field = "1-5"
    return Recurrence(
        cron=f"{minute} {hour} {day_field} * {weekday_field}",
        hour=hour,
        minute=minute,
        weekdays=weekdays,
        month_day=month_day,
    )


def _repeats(text: str) -> bool:
    return bool(re.search(r"\b(every|each|кажд\w*|по)\b", text))


def _month_day(text: str) -> tuple[int | None, str]:
    match = _MONTH_DAY.search(text)
    if match is None:
        return None, text
    day = int(next(g for g in match.groups() if g))
    if not 1 <= day <= 31:
        raise ToolError(f"there is no day {day} in a month")
    return day, text[: match.start()] + " " + text[match.end() :]


def _weekdays(text: str) -> frozenset[int] | None:
    if _WORKDAYS.search(text):
        return frozenset(range(1, 6))
    if _WEEKENDS.search(text):
        return frozenset({0, 6})
    days = {number for number, pattern in _WEEKDAYS if re.search(rf"\b({pattern})\b", text)}
    return frozenset(days) or None


def _iso(text: str, tz: ZoneInfo) -> datetime | None:
    """An ISO 8601 date-time; without an offset it is the user's local time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def _time_of_day(text: str) -> tuple[int, int] | None:
    text = text.lower()
    iso = _iso(text, ZoneInfo("UTC")) if "t" in text else None
    if iso is not None:
        return iso.hour, iso.minute
    for pattern, value in _WORD_TIMES.items():
        if re.search(pattern, text):
            return value
    match = _CLOCK.search(text) or _HOUR.search(text) or _BARE_HOUR.search(text)
    if match is None:
        return None
    groups = match.groups()
    hour = int(groups[0])
    minute = int(groups[1]) if match.re is _CLOCK else 0
    part = groups[-1]
    if part in {"pm", "дня", "вечера"} and hour < 12:
        hour += 12
    elif part in {"am", "ночи"} and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        raise ToolError(f"{hour:02d}:{minute:02d} is not a time of day")
    return hour, minute


def local(moment: datetime) -> str:
    return f"{moment:%A %d %B %Y, %H:%M}"


class ReminderTool(BaseTool, tool_type="reminder"):
    async def run(self, arguments: dict[str, Any], call: ToolCallContext) -> Any:
        actions = {
            "create": self._create,
            "list": self._list,
            "delete": self._delete,
            "snooze": self._snooze,
        }
        action = actions.get(arguments.get("action", ""))
        if action is None:
            raise ToolError("unknown action: use create, list, delete or snooze")
        try:
            return await action(arguments, call)
        except (ValidationFailedError, ConflictError) as exc:
            raise ToolError(f"rest_service refused: {exc.detail}") from exc

    # -- create -------------------------------------------------------------------------------

    async def _create(self, arguments: dict[str, Any], call: ToolCallContext) -> Any:
        text = (arguments.get("text") or "").strip()
        if not text:
            raise ToolError("action 'create' needs 'text': what to remind about")
        zone_name, assumed = await self._user_zone(call)
        now = datetime.now(zone(zone_name))
        if arguments.get("recurrence"):
            rule = parse_recurrence(arguments["recurrence"], arguments.get("when"))
            job = await self._new_job(call, text, zone_name, cron_expression=rule.cron)
            first = rule.next_after(now) or _parse(job.get("next_run_at"), now.tzinfo)
            return _created(job, first, zone_name, assumed, rule.describe())
        if not arguments.get("when"):
            raise ToolError("say when: 'when' (e.g. 'at 18:00', 'in 20 minutes') or 'recurrence'")
        at = await self._moment(arguments["when"], now, call)
        job = await self._new_job(call, text, zone_name, run_at=at)
        return _created(job, at, zone_name, assumed, None)

    async def _moment(self, phrase: str, now: datetime, call: ToolCallContext) -> datetime:
        """The phrase (ISO 8601, or words) as a future moment; a time of day already past
        today means tomorrow."""
        tz = now.tzinfo
        assert isinstance(tz, ZoneInfo)
        at = _iso(phrase, tz) or await asyncio.to_thread(
            resolve_phrase, phrase, tz, now, call.actor.language
        )
        if at <= now and now - at < timedelta(days=1):
            at += timedelta(days=1)
        if at <= now:
            raise ToolError(f"{phrase!r} is {local(at)}, which has passed: ask for a future time")
        return at

    async def _new_job(
        self, call: ToolCallContext, text: str, zone_name: str, **when: Any
    ) -> CronJob:
        return await self.services.rest.create_cron_job(
            name=text[:_NAME_LENGTH],
            type="reminder",
            user_id=call.actor.user_id,
            chat_id=call.actor.chat_id,
            text=text,
            timezone=zone_name,
            idempotency_key=call.idempotency_key,
            **when,
        )

    async def _user_zone(self, call: ToolCallContext) -> tuple[str, bool]:
        """The user's own timezone, or the one assumed for them (True) when they set none."""
        user = await self.services.rest.get_user(call.actor.user_id)
        if user.get("timezone"):
            return user["timezone"], False
        return call.actor.timezone or self.services.settings.default_timezone, True

    # -- list, delete, snooze -----------------------------------------------------------------

    async def _list(self, arguments: dict[str, Any], call: ToolCallContext) -> Any:
        jobs = await self._reminders(call, status=_ACTIVE)
        items = sorted((_summary(job) for job in jobs), key=lambda item: item["next_utc"] or "")
        if not items:
            return {"reminders": [], "note": "the user has no upcoming reminders"}
        return {"reminders": items, "how_to_cancel": "action 'delete' with the reminder_id"}

    async def _delete(self, arguments: dict[str, Any], call: ToolCallContext) -> Any:
        job = await self._own(arguments, call)
        await self.services.rest.update_cron_job(job["id"], status="cancelled")
        return {"status": "cancelled", "reminder_id": job["id"], "text": job.get("text")}

    async def _snooze(self, arguments: dict[str, Any], call: ToolCallContext) -> Any:
        minutes = int(arguments.get("minutes") or DEFAULT_SNOOZE_MINUTES)
        if not 1 <= minutes <= MAX_SNOOZE_MINUTES:
            raise ToolError(f"minutes must be between 1 and {MAX_SNOOZE_MINUTES}")
        job = await self._own(arguments, call, latest_fired=True)
        tz = zone(job.get("timezone") or call.actor.timezone)
        at = datetime.now(tz).replace(microsecond=0) + timedelta(minutes=minutes)
        if job.get("cron_expression"):
            # A repeating reminder keeps its schedule; the snooze is a one-off of its own.
            job = await self._new_job(call, job.get("text") or "", str(tz), run_at=at)
        else:
            job = await self.services.rest.update_cron_job(job["id"], run_at=at, status=_ACTIVE)
        return {
            "status": "snoozed",
            "reminder_id": job["id"],
            "text": job.get("text"),
            "at": local(at),
            "timezone": str(tz),
            "confirmation": f"I'll remind you again on {local(at)} ({tz}).",
        }

    async def _own(
        self, arguments: dict[str, Any], call: ToolCallContext, *, latest_fired: bool = False
    ) -> CronJob:
        """The user's reminder by id, else by its text, else (snooze) the one that fired last."""
        reminder_id = (arguments.get("reminder_id") or "").strip()
        if reminder_id:
            return await self._by_id(reminder_id, call)
        text = (arguments.get("text") or "").strip().lower()
        jobs = await self._reminders(call, status=None if latest_fired else _ACTIVE)
        if text:
            matches = [j for j in jobs if text in (j.get("text") or "").lower()]
            matches = [j for j in matches if j["status"] == _ACTIVE] or matches
            if len(matches) == 1:
                return matches[0]
            found = [_summary(j) for j in matches[:10]]
            raise ToolError(f"{len(matches)} reminders match {text!r}; pass reminder_id: {found}")
        fired = [j for j in jobs if j.get("last_run_at")]
        if latest_fired and fired:
            return max(fired, key=lambda j: j["last_run_at"] or "")
        raise ToolError("which reminder? pass reminder_id (action 'list' shows them)")

    async def _by_id(self, reminder_id: str, call: ToolCallContext) -> CronJob:
        try:
            job = await self.services.rest.get_cron_job(reminder_id)
        except (NotFoundError, ValidationFailedError):
            job = None
        if job is None or not _visible(job, call.actor) or job["type"] != "reminder":
            raise ToolError(f"the user has no reminder {reminder_id!r} (action 'list' shows them)")
        return job

    async def _reminders(self, call: ToolCallContext, *, status: str | None) -> list[CronJob]:
        jobs = await self.services.rest.list_cron_jobs(
            user_id=call.actor.user_id,
            chat_id=call.actor.chat_id if call.actor.is_group else None,
            type="reminder",
            status=status,  # type: ignore[arg-type]
            limit=1000,
        )
        return [job for job in jobs if _visible(job, call.actor)]


def _visible(job: CronJob, actor: Actor) -> bool:
    """The actor's own reminder, and in a group one set in that group: a member's injected
    instruction must not bring reminders set in private into the group, nor cancel them."""
    return job.get("user_id") == actor.user_id and (
        not actor.is_group or job.get("chat_id") == actor.chat_id
    )


def _parse(value: str | None, tz: Any) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(tz) if value else None


def _created(
    job: CronJob, first: datetime | None, zone_name: str, assumed: bool, repeats: str | None
) -> dict[str, Any]:
    when = local(first) if first else "at its next scheduled time"
    what = f"every time {repeats}, first on {when}" if repeats else f"on {when}"
    result: dict[str, Any] = {
        "status": "created",
        "reminder_id": job["id"],
        "text": job.get("text"),
        "first_time": when,
        "timezone": zone_name,
        "confirmation": f"Reminder set {what} ({zone_name} time): {job.get('text')}",
    }
    if repeats:
        result["repeats"] = repeats
    if assumed:
        result["timezone_note"] = (
            f"The user has never set a timezone, so {zone_name} was assumed. Say so, and that "
            "/timezone sets theirs."
        )
    return result


def _summary(job: CronJob) -> dict[str, Any]:
    tz = ZoneInfo(job.get("timezone") or "UTC")
    upcoming = job.get("next_run_at") or job.get("run_at")
    moment = _parse(upcoming, tz)
    return {
        "reminder_id": job["id"],
        "text": job.get("text"),
        "next": local(moment) if moment else None,
        "next_utc": upcoming,
        "timezone": str(tz),
        "repeats": job.get("cron_expression"),
        "status": job["status"],
    }
