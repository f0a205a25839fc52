"""Google Tasks sync as tg_bot and the assistant ask for it: only for a user who turned it
on, and never failing the change or the list it follows (a change here is kept whatever
Google says; the report tells whether Google was reached)."""

from __future__ import annotations

from common.features.calendar_client import CalendarClient, CalendarNotConnected, TaskSyncReport
from common.infrastructure.errors import AppError
from common.infrastructure.logging import get_logger
from common.infrastructure.rest_client import RestClient

log = get_logger(__name__)


async def sync_if_on(rest: RestClient, calendar: CalendarClient, user_id: str) -> TaskSyncReport:
    """A sync when the user turned it on. Access not (yet) granted or confirmed: nothing to
    do yet. The calendar service or Google unreachable: `unreachable` (the next sync sends
    what changed)."""
    try:
        if not (await rest.get_task_sync(user_id)).enabled:
            return TaskSyncReport(enabled=False)
        return await calendar.sync_tasks(user_id)
    except CalendarNotConnected:
        return TaskSyncReport(enabled=True)
    except AppError as exc:
        log.warning("google_tasks_sync_failed", user_id=user_id, error=type(exc).__name__)
        return TaskSyncReport(enabled=True, unreachable=True)
