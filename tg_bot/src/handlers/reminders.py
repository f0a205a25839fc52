"""/reminders: the user's upcoming reminders with their local times, a Cancel button for each;
`/reminders cancel N` cancels the Nth (the list's numbering, soonest first). In a group only the
reminders set in that group: a member's private reminders are not for the other members to read.

The buttons of reminders act here too: Cancel (under the list or the assistant's confirmation),
and Snooze / Done under a fired one. A button acts only for the reminder's own user, and a
reminder already cancelled answers so and loses its buttons."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from common.features.buttons import (
    SNOOZES,
    ButtonAction,
    ButtonData,
    button,
    fired_choice,
    snooze_idempotency_key,
    snoozed_insistence,
    snoozed_until,
)
from common.features.schedule import describe
from common.features.timezones import known_zone, zone_or_default
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import NotFoundError, ValidationFailedError
from common.infrastructure.queue_messages import Button
from common.infrastructure.wire import CronJob, CronJobStatus, CronJobType
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command, Press, Pressed, PressHandler, Reply
from tg_bot.src.i18n import Markdown

#: `/reminders cancel N`, `/briefings cancel N`.
CANCEL_ARGS = re.compile(r"^(?:cancel|delete|отменить|отмена|удалить)\s+#?(\d+)$", re.IGNORECASE)
_LIMIT = 50
#: A Cancel button under the list (the list is shown again after it) rather than elsewhere.
_FROM_LIST = "l"
_LABEL_CHARS = 40


async def reminders(turn: Addressed, args: str, services: Services) -> str | Reply:
    if turn.user is None:
        return turn.t("reminders.none")
    upcoming = await upcoming_jobs(turn, services)
    wanted = CANCEL_ARGS.match(args.strip())
    if wanted:
        return await _cancel(turn, services, upcoming, int(wanted[1]))
    listing = _listing(turn, services, upcoming)
    briefings = await upcoming_jobs(turn, services, CronJobType.assistant_prompt)
    if not briefings:
        return listing
    # Briefings are listed by /briefings; here they are only pointed to.
    hint = "\n\n" + turn.t("reminders.briefings", count=len(briefings))
    if isinstance(listing, Reply):
        return Reply(listing.text + hint, listing.buttons)
    return listing + hint


def _listing(turn: Addressed, services: Services, upcoming: list[CronJob]) -> str | Reply:
    return job_listing(
        turn, services, upcoming, "reminders",
        lambda job: (job.text or job.name,
                     ButtonData(ButtonAction.CANCEL_REMINDER, str(job.id), _FROM_LIST)),
    )  # fmt: skip


def job_listing(
    turn: Addressed,
    services: Services,
    upcoming: list[CronJob],
    texts: str,
    cancel: Callable[[CronJob], tuple[str, ButtonData]],
) -> str | Reply:
    """Numbered jobs with their next local time (`{texts}.list`, `{texts}.none`), and a
    Cancel button for each: `cancel(job)` gives its label's words and its button's data."""
    if not upcoming:
        return turn.t(f"{texts}.none")
    zone = user_zone(turn, services)
    lines = [job_line(turn, number, job, zone) for number, job in enumerate(upcoming, 1)]
    text = turn.t(f"{texts}.list", zone=zone.key, items=Markdown("\n".join(lines)))
    return Reply(text, [[_cancel_button(n, *cancel(job))] for n, job in enumerate(upcoming, 1)])


def _cancel_button(number: int, words: str, data: ButtonData) -> Button:
    if len(words) > _LABEL_CHARS:
        words = words[: _LABEL_CHARS - 1] + "…"
    return button(f"✖ {number}. {words}", data)


async def upcoming_jobs(
    turn: Addressed, services: Services, job_type: CronJobType = CronJobType.reminder
) -> list[CronJob]:
    """The user's active reminders or briefings (in a group, those set there) made with this
    bot (decision 0048), soonest first."""
    assert turn.user is not None
    jobs = await services.rest.list_cron_jobs(
        user_id=str(turn.user.id),
        chat_id=turn.chat_id if turn.is_group else None,
        status=CronJobStatus.active,
        type=job_type,
        limit=_LIMIT,
    )
    mine = [job for job in jobs if job.bot_id == turn.bot_id]
    return sorted(mine, key=lambda job: _next(job) or datetime.max.replace(tzinfo=ZoneInfo("UTC")))


async def _cancel(turn: Addressed, services: Services, upcoming: list[CronJob], number: int) -> str:
    if not 1 <= number <= len(upcoming):
        return turn.t("reminders.no_such", number=number)
    job = upcoming[number - 1]
    await services.rest.update_cron_job(job.id, status=CronJobStatus.cancelled)
    return turn.t("reminders.cancelled", text=job.text or job.name)


def job_line(turn: Addressed, number: int, job: CronJob, user_zone: ZoneInfo) -> str:
    zone = known_zone(job.timezone) or user_zone
    moment = _next(job)
    when = moment_text(turn, moment.astimezone(zone)) if moment else "—"
    if zone.key != user_zone.key:
        when = f"{when} ({zone.key})"
    text: str | Markdown = job.text or job.name
    if job.urgent:
        text = Markdown(
            turn.t(
                "reminders.urgent_text",
                text=text,
                minutes=job.repeat_every_minutes,
                repeats=job.max_repeats,
            )
        )
    values = {"number": number, "when": when, "text": text}
    if job.cron_expression:
        # The same words the assistant confirms with; a cron fallback is Markdown code.
        rule = Markdown(describe(job.cron_expression or "", turn.catalogue.language))
        return turn.t("reminders.item_repeating", rule=rule, **values)
    return turn.t("reminders.item", **values)


def _next(job: CronJob) -> datetime | None:
    return job.next_run_at or job.run_at


def moment_text(turn: Addressed, moment: datetime) -> str:
    day = turn.t("reminders.weekdays").split(",")[moment.weekday()]
    return f"{day} {moment:%d.%m %H:%M}"


def user_zone(turn: Addressed, services: Services) -> ZoneInfo:
    name = turn.user.timezone if turn.user else None
    return zone_or_default(name, services.settings.default_timezone)


# -- buttons -------------------------------------------------------------------------------------


async def cancel_pressed(press: Press, services: Services) -> Pressed:
    job = await _pressed_job(press, services)
    if isinstance(job, Pressed):
        return job
    turn = press.turn
    if job.status in (CronJobStatus.active, CronJobStatus.paused):
        await services.rest.update_cron_job(job.id, status=CronJobStatus.cancelled)
        notice, line = turn.t("reminders.cancelled_notice"), turn.t("reminders.cancelled_mark")
    else:
        notice, line = turn.t("reminders.gone_notice"), turn.t("reminders.gone_mark")
    if press.data.option != _FROM_LIST:
        return Pressed(notice, press.below(line))
    listing = _listing(turn, services, await upcoming_jobs(turn, services))
    return Pressed(notice, listing if isinstance(listing, Reply) else Reply(listing))


async def snooze_pressed(press: Press, services: Services) -> Pressed:
    job = await _pressed_job(press, services)
    if isinstance(job, Pressed):
        return job
    turn = press.turn
    choice, occurrence = fired_choice(press.data.option)
    delay = SNOOZES.get(choice)
    if delay is None:
        return Pressed(turn.t("button.unknown"))
    if job.status == CronJobStatus.cancelled:
        return Pressed(turn.t("reminders.gone_notice"), press.below(turn.t("reminders.gone_mark")))
    if job.urgent and occurrence is not None:
        # A snooze answers the fire: its repeats stop, and the snoozed copy insists instead.
        await services.rest.mark_cron_job_done(job.id, occurrence)
    zone = zone_or_default(job.timezone, services.settings.default_timezone)
    snoozed = await services.rest.create_cron_job(
        name=job.name,
        type=CronJobType.reminder,
        user_id=job.user_id,
        chat_id=job.chat_id,
        text=job.text,
        timezone=zone.key,
        run_at=snoozed_until(utcnow().astimezone(zone), delay),
        idempotency_key=snooze_idempotency_key(job.id, turn.chat_id, turn.message.message_id),
        bot_id=job.bot_id,
        **snoozed_insistence(job),
    )
    at = (snoozed.run_at or utcnow()).astimezone(zone)
    line = turn.t("reminders.snoozed_mark", when=moment_text(turn, at))
    return Pressed(turn.t("reminders.snoozed_notice"), press.below(line))


async def done_pressed(press: Press, services: Services) -> Pressed:
    job = await _pressed_job(press, services)
    if isinstance(job, Pressed):
        return job
    turn = press.turn
    if job.status == CronJobStatus.cancelled:
        return Pressed(turn.t("reminders.gone_notice"), press.below(turn.t("reminders.gone_mark")))
    # rest_service ends a one-off (its fire may not be recorded yet) and acknowledges an
    # urgent fire, which stops its repeats.
    _, occurrence = fired_choice(press.data.option)
    await services.rest.mark_cron_job_done(job.id, occurrence)
    said = "repeats_stopped" if job.urgent and occurrence else "done"
    notice, mark = turn.t(f"reminders.{said}_notice"), turn.t(f"reminders.{said}_mark")
    return Pressed(notice, press.below(mark))


async def _pressed_job(press: Press, services: Services) -> CronJob | Pressed:
    """The reminder a button acts on, or the answer when it is gone or someone else's."""
    turn = press.turn
    try:
        job = await services.rest.get_cron_job(uuid.UUID(press.data.target))
    except (ValueError, NotFoundError, ValidationFailedError):
        return Pressed(turn.t("reminders.gone_notice"), press.below(turn.t("reminders.gone_mark")))
    # A briefing's Cancel under the assistant's confirmation is this button too.
    scheduled = job.type in (CronJobType.reminder, CronJobType.assistant_prompt)
    if not scheduled or turn.user is None or job.user_id != turn.user.id:
        return Pressed(turn.t("button.not_yours"))
    return job


BUTTONS: dict[ButtonAction, PressHandler] = {
    ButtonAction.CANCEL_REMINDER: cancel_pressed,
    ButtonAction.SNOOZE: snooze_pressed,
    ButtonAction.DONE: done_pressed,
}

COMMAND = Command("reminders", reminders)
