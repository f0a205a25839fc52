"""/reminders: the user's upcoming reminders with their local times; `/reminders cancel N`
cancels the Nth (the list's numbering, soonest first). In a group only the reminders set in
that group: a member's private reminders are not for the other members to read."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from common.schedule import describe
from common.timezones import known_zone, zone_or_default
from common.wire import CronJob, CronJobStatus, CronJobType
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command
from tg_bot.src.i18n import Markdown

_CANCEL = re.compile(r"^(?:cancel|delete|отменить|отмена|удалить)\s+#?(\d+)$", re.IGNORECASE)
_LIMIT = 50


async def reminders(turn: Addressed, args: str, services: Services) -> str:
    if turn.user is None:
        return turn.t("reminders.none")
    upcoming = await _upcoming(turn, services)
    wanted = _CANCEL.match(args.strip())
    if wanted:
        return await _cancel(turn, services, upcoming, int(wanted[1]))
    if not upcoming:
        return turn.t("reminders.none")
    zone = _user_zone(turn, services)
    lines = [_line(turn, number, job, zone) for number, job in enumerate(upcoming, 1)]
    return turn.t("reminders.list", zone=zone.key, items=Markdown("\n".join(lines)))


async def _upcoming(turn: Addressed, services: Services) -> list[CronJob]:
    """The user's active reminders (in a group, those set there), soonest first."""
    assert turn.user is not None
    jobs = await services.rest.list_cron_jobs(
        user_id=str(turn.user.id),
        chat_id=turn.chat_id if turn.is_group else None,
        status=CronJobStatus.active,
        type=CronJobType.reminder,
        limit=_LIMIT,
    )
    return sorted(jobs, key=lambda job: _next(job) or datetime.max.replace(tzinfo=ZoneInfo("UTC")))


async def _cancel(turn: Addressed, services: Services, upcoming: list[CronJob], number: int) -> str:
    if not 1 <= number <= len(upcoming):
        return turn.t("reminders.no_such", number=number)
    job = upcoming[number - 1]
    await services.rest.update_cron_job(job.id, status=CronJobStatus.cancelled)
    return turn.t("reminders.cancelled", text=job.text or job.name)


def _line(turn: Addressed, number: int, job: CronJob, user_zone: ZoneInfo) -> str:
    zone = known_zone(job.timezone) or user_zone
    moment = _next(job)
    when = _when(turn, moment.astimezone(zone)) if moment else "—"
    if zone.key != user_zone.key:
        when = f"{when} ({zone.key})"
    values = {"number": number, "when": when, "text": job.text or job.name}
    if job.cron_expression:
        # The same words the assistant confirms with; a cron fallback is Markdown code.
        rule = Markdown(describe(job.cron_expression or "", turn.catalogue.language))
        return turn.t("reminders.item_repeating", rule=rule, **values)
    return turn.t("reminders.item", **values)


def _next(job: CronJob) -> datetime | None:
    return job.next_run_at or job.run_at


def _when(turn: Addressed, moment: datetime) -> str:
    day = turn.t("reminders.weekdays").split(",")[moment.weekday()]
    return f"{day} {moment:%d.%m %H:%M}"


def _user_zone(turn: Addressed, services: Services) -> ZoneInfo:
    name = turn.user.timezone if turn.user else None
    return zone_or_default(name, services.settings.default_timezone)


COMMAND = Command("reminders", reminders)
