"""`reminder`: create, list, change, cancel and snooze the user's reminders and briefings,
and set the alerts before calendar events.

`kind` "briefing" makes an `assistant_prompt` job instead of a reminder: `text` is then the
request the secretary answers with its tools each time it fires ("my agenda and the weather
in Berlin"), on the same schedules as a reminder. `event_alerts` sets the user's
`event_alert_minutes` (0 turns them off), which cron_service's alert sweep reads.

A reminder is a cron job in rest_service that cron_service fires. `when` is a moment (an ISO
8601 local date-time, preferred, or words: "tomorrow at 9", "in 20 minutes", "через час"),
resolved by `when.resolve_moment` in the user's timezone; `recurrence` ("every weekday at 9",
"каждый понедельник в 9", or a 5-field cron expression) becomes a cron expression
(`recurrence.py`) that `common.features.schedule` evaluates in that timezone, here for the first
time shown and in rest_service and cron_service for the stored and fired ones. A phrase that is
unclear is a question back, never a guess. The result names the stored moment (weekday, date, HH:MM,
zone) for the answer to confirm, and says when the timezone was assumed because the user never set
one. Writes pass the call's idempotency key, so a redelivered message makes one reminder; every
action is for the envelope's user only, and in a group only on reminders set in that group (what was
set in private stays private there).

`urgent` makes a reminder that insists: cron_service fires it again every
`repeat_every_minutes` (a number, or words: "every 10 min", "1 hour") until Done is pressed,
`max_repeats` times at most; unsaid, rest_service's defaults hold (5 minutes, 6 repeats).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from assistant.src.tools.base import Actor, BaseTool, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.recurrence import parse_recurrence
from assistant.src.tools.when import local, resolve_moment, zone
from common.features.buttons import snoozed_insistence, snoozed_until
from common.infrastructure.errors import ConflictError, NotFoundError, ValidationFailedError
from common.infrastructure.wire import CronJob, CronJobStatus, CronJobType

#: `kind` → the job type it makes and reads.
KINDS = {"reminder": CronJobType.reminder, "briefing": CronJobType.assistant_prompt}
#: The longest lead of an event alert (rest_service refuses more): a day.
MAX_EVENT_ALERT_MINUTES = 1440
DEFAULT_SNOOZE_MINUTES = 10
MAX_SNOOZE_MINUTES = 7 * 24 * 60
_NAME_LENGTH = 60
#: How long the reminders made for an answer are noted (a redelivered turn finds them).
MADE_TTL_S = 24 * 3600
#: An urgent reminder's repeats, as rest_service bounds them.
REPEAT_MINUTES = (1, 1440)
MAX_REPEATS = (1, 50)
#: "10", "every 10 min", "10m", "1 hour", "каждые 10 минут", "1 час".
_INTERVAL = re.compile(
    r"\s*(?:every|each|каждые|каждый|кажд\w*)?\s*(?P<n>\d{1,5})\s*"
    r"(?P<unit>m|mins?|minutes?|мин\w*|h|hrs?|hours?|час\w*)?\.?\s*",
    re.IGNORECASE,
)


async def new_reminder(
    services: ToolServices,
    call: ToolCallOrigin,
    text: str,
    zone_name: str,
    kind: CronJobType = CronJobType.reminder,
    **when: Any,
) -> CronJob:
    """The cron job a reminder (or briefing) is, made where the call's conversation is, under
    the call's idempotency key. The `tasks` tool makes a deadline's reminder here too."""
    briefing = kind == CronJobType.assistant_prompt
    return await services.rest.create_cron_job(
        name=text[:_NAME_LENGTH],
        type=kind,
        user_id=call.actor.user_id,
        chat_id=call.actor.chat_id,
        text=None if briefing else text,
        prompt=text if briefing else None,
        timezone=zone_name,
        idempotency_key=call.idempotency_key,
        bot_id=call.actor.bot_id,
        channel=call.actor.answer_channel,
        channel_chat_id=call.actor.channel_chat_id,
        **when,
    )


async def user_zone(services: ToolServices, call: ToolCallOrigin) -> tuple[str, bool]:
    """The user's own timezone, or the one assumed for them (True) when they set none."""
    user = await services.rest.get_user(call.actor.user_id)
    if user.timezone:
        return user.timezone, False
    return call.actor.timezone or services.settings.default_timezone, True


class ReminderTool(BaseTool, tool_type="reminder"):
    def validate(self, arguments: Any) -> None:
        """The schema (an object, so a dict from here on), then an urgent reminder's repeats
        (words like "every 10 min" too)."""
        super().validate(arguments)
        repeat_settings(arguments)

    def stores_or_removes(self, arguments: dict[str, Any]) -> bool:
        return arguments.get("action") in ("delete", "cancel")

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        actions = {
            "create": self._create,
            "list": self._list,
            "delete": self._delete,
            "snooze": self._snooze,
            "update": self._update,
            "event_alerts": self._event_alerts,
        }
        action = actions.get(arguments.get("action", ""))
        if action is None:
            raise ToolError(
                "unknown action: use create, list, update, delete, snooze or event_alerts"
            )
        try:
            return await action(arguments, call)
        except (ValidationFailedError, ConflictError) as exc:
            raise ToolError(f"rest_service refused: {exc.detail}") from exc

    # -- create -------------------------------------------------------------------------------

    async def _create(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        text = (arguments.get("text") or "").strip()
        kind = _kind(arguments)
        if not text:
            what = "what to do each time" if kind == CronJobType.assistant_prompt else "what"
            raise ToolError(f"action 'create' needs 'text': {what} to remind about")
        insisting = repeat_settings(arguments)
        if insisting and kind == CronJobType.assistant_prompt:
            raise ToolError("a briefing cannot be urgent: only a reminder repeats until Done")
        zone_name, assumed = await user_zone(self.services, call)
        tz = zone(zone_name)
        zone_name, now = str(tz), self.services.clock().astimezone(tz)
        if arguments.get("recurrence"):
            rule = parse_recurrence(arguments["recurrence"], arguments.get("when"), tz, now)
            first = rule.first_after(now)
            job = await new_reminder(
                self.services, call, text, zone_name, kind, cron_expression=rule.cron, **insisting
            )
            await self._made(call, job)
            result = _created(job, first, zone_name, assumed, rule.describe())
            if rule.time_assumed:
                result["time_note"] = "No time of day was said, so 09:00 was taken: say so."
            return result
        if not arguments.get("when"):
            raise ToolError("say when: 'when' (e.g. '2025-06-11T09:00' or 'in 20 minutes')")
        at = resolve_moment(str(arguments["when"]), tz, now)
        job = await new_reminder(self.services, call, text, zone_name, kind, run_at=at, **insisting)
        await self._made(call, job)
        # A redelivered message gets the job made the first time: confirm what is stored.
        stored = job.run_at.astimezone(tz) if job.run_at else at
        return _created(job, stored, zone_name, assumed, None)

    async def _made(self, call: ToolCallOrigin, job: CronJob) -> None:
        """Noted for the answer to this message, which carries a Cancel button for it."""
        key = self.services.names.reminders_made(call.message_id)
        async with self.services.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, str(job.id))
            pipe.expire(key, MADE_TTL_S)
            await pipe.execute()

    # -- list, delete, snooze -----------------------------------------------------------------

    async def _list(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        kind = _kind(arguments)
        jobs = await self._reminders(call, status=CronJobStatus.active, kind=kind)
        items = sorted((_summary(job) for job in jobs), key=lambda item: item["next_utc"] or "")
        label = "briefings" if kind == CronJobType.assistant_prompt else "reminders"
        if not items:
            return {label: [], "note": f"the user has no upcoming {label}"}
        return {label: items, "how_to_cancel": "action 'delete' with the reminder_id"}

    async def _delete(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        job = await self._own(arguments, call)
        await self.services.rest.update_cron_job(job.id, status=CronJobStatus.cancelled)
        return {"status": "cancelled", "reminder_id": str(job.id), "text": _words(job)}

    async def _update(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        """A new text, time or repetition for a reminder or briefing; what is not given stays."""
        job = await self._own(arguments, call)
        changes: dict[str, Any] = {}
        if arguments.get("new_text"):
            words = str(arguments["new_text"]).strip()
            field = "prompt" if job.type == CronJobType.assistant_prompt else "text"
            changes |= {field: words, "name": words[:_NAME_LENGTH]}
        tz = zone(job.timezone or call.actor.timezone)
        now = self.services.clock().astimezone(tz)
        first: datetime | None = None
        repeats = None
        if arguments.get("recurrence"):
            rule = parse_recurrence(arguments["recurrence"], arguments.get("when"), tz, now)
            changes |= {"cron_expression": rule.cron, "run_at": None}
            first, repeats = rule.first_after(now), rule.describe()
        elif arguments.get("when"):
            first = resolve_moment(str(arguments["when"]), tz, now)
            changes |= {"run_at": first, "cron_expression": None}
        insisting = repeat_settings(arguments)
        if insisting and job.type == CronJobType.assistant_prompt:
            raise ToolError("a briefing cannot be urgent: only a reminder repeats until Done")
        changes |= insisting
        if not changes:
            raise ToolError("nothing to change: give new_text, when, recurrence or urgent")
        job = await self.services.rest.update_cron_job(job.id, **changes)
        upcoming = first or job.next_run_at or job.run_at
        result = _summary(job)
        result["status"] = "updated"
        if upcoming is not None:
            when = local(upcoming.astimezone(tz))
            what = f"{repeats}, next on {when}" if repeats else f"for {when}"
            result["confirmation"] = f"Changed: {_words(job)}, {what}"
        return result

    async def _event_alerts(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        """The user's alert before each calendar event: `minutes` ahead, 0 for none."""
        if call.actor.is_group:
            raise ToolError("event alerts are a personal setting: ask in a private chat")
        raw = arguments.get("minutes")
        if raw is None:
            user = await self.services.rest.get_user(call.actor.user_id)
            return {"event_alert_minutes": user.event_alert_minutes}
        minutes = int(raw)
        if not 0 <= minutes <= MAX_EVENT_ALERT_MINUTES:
            raise ToolError(f"minutes must be between 0 (off) and {MAX_EVENT_ALERT_MINUTES}")
        await self.services.rest.update_user(call.actor.user_id, event_alert_minutes=minutes)
        if minutes == 0:
            return {"event_alert_minutes": 0, "confirmation": "Event alerts are off."}
        return {
            "event_alert_minutes": minutes,
            "confirmation": f"I'll alert you {minutes} minutes before each calendar event.",
        }

    async def _snooze(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        job = await self._own(arguments, call, latest_fired=True)
        tz = zone(job.timezone or call.actor.timezone)
        at = _snoozed_until(arguments, self.services.clock().astimezone(tz).replace(microsecond=0))
        if job.cron_expression:
            # A repeating reminder keeps its schedule; the snooze is a one-off of its own, as
            # insistent as it; an urgent fire being repeated is answered (its repeats stop).
            if job.urgent and job.repeating_for is not None:
                await self.services.rest.mark_cron_job_done(job.id, job.repeating_for)
            insisting = snoozed_insistence(job)
            job = await new_reminder(
                self.services, call, job.text or "", str(tz), run_at=at, **insisting
            )
        else:  # a one-off moved: the repeats of its old time stop in cron_service
            job = await self.services.rest.update_cron_job(
                job.id, run_at=at, status=CronJobStatus.active
            )
        return {
            "status": "snoozed",
            "reminder_id": str(job.id),
            "text": job.text,
            "at": local(at),
            "at_iso": at.isoformat(),
            "timezone": str(tz),
            "confirmation": f"I'll remind you again on {local(at)}.",
        }

    async def _own(
        self, arguments: dict[str, Any], call: ToolCallOrigin, *, latest_fired: bool = False
    ) -> CronJob:
        """The user's reminder by id, else by its text, else (snooze) the one that fired last."""
        reminder_id = (arguments.get("reminder_id") or "").strip()
        if reminder_id:
            return await self._by_id(reminder_id, call)
        text = (arguments.get("text") or "").strip().lower()
        status = None if latest_fired else CronJobStatus.active
        jobs = await self._reminders(call, status=status, kind=_kind(arguments))
        if text:
            matches = [j for j in jobs if text in _words(j).lower()]
            matches = [j for j in matches if j.status == CronJobStatus.active] or matches
            if len(matches) == 1:
                return matches[0]
            found = [_summary(j) for j in matches[:10]]
            raise ToolError(f"{len(matches)} reminders match {text!r}; pass reminder_id: {found}")
        fired = [(j.last_run_at, j) for j in jobs if j.last_run_at]
        if latest_fired and fired:
            return max(fired, key=lambda pair: pair[0])[1]
        raise ToolError("which reminder? pass reminder_id (action 'list' shows them)")

    async def _by_id(self, reminder_id: str, call: ToolCallOrigin) -> CronJob:
        try:
            job = await self.services.rest.get_cron_job(reminder_id)
        except (NotFoundError, ValidationFailedError):
            job = None
        if job is None or not _visible(job, call.actor) or job.type not in KINDS.values():
            raise ToolError(f"the user has no reminder {reminder_id!r} (action 'list' shows them)")
        return job

    async def _reminders(
        self,
        call: ToolCallOrigin,
        *,
        status: CronJobStatus | None,
        kind: CronJobType = CronJobType.reminder,
    ) -> list[CronJob]:
        jobs = await self.services.rest.list_cron_jobs(
            user_id=call.actor.user_id,
            chat_id=call.actor.chat_id if call.actor.is_group else None,
            type=kind,
            status=status,
            limit=1000,
        )
        return [job for job in jobs if _visible(job, call.actor)]


def repeat_settings(arguments: dict[str, Any]) -> dict[str, Any]:
    """`urgent`, `repeat_every_minutes` and `max_repeats` as rest_service takes them, only
    those given (a repeat setting alone makes the reminder urgent: asking "every 10 minutes
    until I say done" is asking for that); a value out of bounds is a ToolError."""
    settings: dict[str, Any] = {}
    if arguments.get("urgent") is not None:
        if not isinstance(arguments["urgent"], bool):
            raise ToolError("urgent must be true or false")
        settings["urgent"] = arguments["urgent"]
    if arguments.get("repeat_every_minutes") is not None:
        settings["repeat_every_minutes"] = _interval(arguments["repeat_every_minutes"])
    if arguments.get("max_repeats") is not None:
        most = arguments["max_repeats"]
        if isinstance(most, bool) or not isinstance(most, int):
            raise ToolError("max_repeats must be a whole number")
        settings["max_repeats"] = _within(most, MAX_REPEATS, "max_repeats")
    if settings.keys() - {"urgent"}:
        settings.setdefault("urgent", True)
    return settings


def _interval(value: Any) -> int:
    """Minutes from a number or words ("every 10 min", "1 hour")."""
    if isinstance(value, bool):
        raise ToolError("repeat_every_minutes must be a number of minutes")
    if isinstance(value, int | float) and float(value).is_integer():
        return _within(int(value), REPEAT_MINUTES, "repeat_every_minutes")
    found = _INTERVAL.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise ToolError(f"repeat_every_minutes: {value!r} is not a number of minutes")
    hours = (found["unit"] or "m").lower().startswith(("h", "час"))
    return _within(int(found["n"]) * (60 if hours else 1), REPEAT_MINUTES, "repeat_every_minutes")


def _within(value: int, bounds: tuple[int, int], name: str) -> int:
    low, high = bounds
    if not low <= value <= high:
        raise ToolError(f"{name} must be between {low} and {high}")
    return value


def _kind(arguments: dict[str, Any]) -> CronJobType:
    kind = KINDS.get(str(arguments.get("kind") or "reminder"))
    if kind is None:
        raise ToolError("kind must be 'reminder' or 'briefing'")
    return kind


def _words(job: CronJob) -> str:
    """A reminder's text, or what a briefing asks each time."""
    return (job.prompt if job.type == CronJobType.assistant_prompt else job.text) or job.name


def _visible(job: CronJob, actor: Actor) -> bool:
    """The actor's own reminder, and in a group one set in that group: a member's injected
    instruction must not bring reminders set in private into the group, nor cancel them.
    Only the conversation's bot's (decision 0048): a shop's bot never sees the secretary's."""
    return (
        str(job.user_id) == actor.user_id
        and (not actor.is_group or job.chat_id == actor.chat_id)
        and job.bot_id == actor.bot_id
    )


def _snoozed_until(arguments: dict[str, Any], now: datetime) -> datetime:
    """`when` (a moment, like create's) or `minutes` from now."""
    if arguments.get("when"):
        tz = now.tzinfo
        assert isinstance(tz, ZoneInfo)
        return resolve_moment(str(arguments["when"]), tz, now)
    given = arguments.get("minutes")
    minutes = DEFAULT_SNOOZE_MINUTES if given is None else int(given)
    if not 1 <= minutes <= MAX_SNOOZE_MINUTES:
        raise ToolError(f"minutes must be between 1 and {MAX_SNOOZE_MINUTES}")
    return snoozed_until(now, timedelta(minutes=minutes))


def _created(
    job: CronJob, first: datetime, zone_name: str, assumed: bool, repeats: str | None
) -> dict[str, Any]:
    """The confirmation names the stored moment: weekday, date, HH:MM, zone and offset."""
    when = local(first)
    what = f"{repeats}, first on {when}" if repeats else f"for {when}"
    briefing = job.type == CronJobType.assistant_prompt
    result: dict[str, Any] = {
        "status": "created",
        "reminder_id": str(job.id),
        "kind": "briefing" if briefing else "reminder",
        "text": _words(job),
        "first_time": when,
        "first_time_iso": first.isoformat(),
        "timezone": zone_name,
        "confirmation": f"{'Briefing' if briefing else 'Reminder'} set {what}: {_words(job)}",
    }
    if repeats:
        result["repeats"] = repeats
    if job.urgent:
        result["urgent"] = (
            f"Urgent: it repeats every {job.repeat_every_minutes} minutes until Done is "
            f"pressed, {job.max_repeats} times at most. Say so."
        )
    if assumed:
        result["timezone_note"] = (
            f"The user has never set a timezone, so {zone_name} was assumed. Say so, and that "
            "/timezone sets theirs."
        )
    return result


def _summary(job: CronJob) -> dict[str, Any]:
    tz = ZoneInfo(job.timezone or "UTC")
    upcoming = job.next_run_at or job.run_at
    return {
        "reminder_id": str(job.id),
        "text": _words(job),
        "next": local(upcoming.astimezone(tz)) if upcoming else None,
        "next_utc": upcoming.isoformat() if upcoming else None,
        "timezone": str(tz),
        "repeats": job.cron_expression,
        "status": str(job.status),
        "urgent": job.urgent,
    }
