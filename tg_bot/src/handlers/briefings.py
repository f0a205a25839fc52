"""/briefings: the user's scheduled briefings (assistant_prompt jobs they set up by talking:
"every weekday at 8 send me my agenda and the weather") with their next local time and a
Cancel button for each; `/briefings cancel N` cancels the Nth. In a group only the ones set in
that group. Made and changed by talking to the assistant (the `reminder` tool's kind briefing).
"""

from __future__ import annotations

import uuid

from common.features.buttons import ButtonAction, ButtonData
from common.infrastructure.errors import NotFoundError, ValidationFailedError
from common.infrastructure.wire import CronJob, CronJobStatus, CronJobType
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command, Press, Pressed, PressHandler, Reply
from tg_bot.src.handlers.reminders import CANCEL_ARGS, job_listing, upcoming_jobs


async def briefings(turn: Addressed, args: str, services: Services) -> str | Reply:
    if turn.user is None:
        return turn.t("briefings.none")
    upcoming = await upcoming_jobs(turn, services, CronJobType.assistant_prompt)
    wanted = CANCEL_ARGS.match(args.strip())
    if wanted:
        return await _cancel(turn, services, upcoming, int(wanted[1]))
    return _listing(turn, services, upcoming)


def _listing(turn: Addressed, services: Services, upcoming: list[CronJob]) -> str | Reply:
    return job_listing(
        turn, services, upcoming, "briefings",
        lambda job: (job.prompt or job.name,
                     ButtonData(ButtonAction.CANCEL_BRIEFING, str(job.id))),
    )  # fmt: skip


async def _cancel(turn: Addressed, services: Services, upcoming: list[CronJob], number: int) -> str:
    if not 1 <= number <= len(upcoming):
        return turn.t("briefings.no_such", number=number)
    job = upcoming[number - 1]
    await services.rest.update_cron_job(job.id, status=CronJobStatus.cancelled)
    return turn.t("briefings.cancelled", text=job.prompt or job.name)


async def cancel_pressed(press: Press, services: Services) -> Pressed:
    """Cancel under the list: the briefing is cancelled and the list shown again."""
    turn = press.turn
    try:
        job = await services.rest.get_cron_job(uuid.UUID(press.data.target))
    except (ValueError, NotFoundError, ValidationFailedError):
        return Pressed(turn.t("briefings.gone_notice"))
    if job.type != CronJobType.assistant_prompt or turn.user is None or job.user_id != turn.user.id:
        return Pressed(turn.t("button.not_yours"))
    notice = turn.t("briefings.gone_notice")
    if job.status in (CronJobStatus.active, CronJobStatus.paused):
        await services.rest.update_cron_job(job.id, status=CronJobStatus.cancelled)
        notice = turn.t("briefings.cancelled_notice")
    upcoming = await upcoming_jobs(turn, services, CronJobType.assistant_prompt)
    listing = _listing(turn, services, upcoming)
    return Pressed(notice, listing if isinstance(listing, Reply) else Reply(listing))


BUTTONS: dict[ButtonAction, PressHandler] = {ButtonAction.CANCEL_BRIEFING: cancel_pressed}

COMMAND = Command("briefings", briefings)
