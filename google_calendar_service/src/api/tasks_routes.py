"""/tasks/{user_id}/sync: Google Tasks sync of the user's to-do list, turned on and off by
the user (tg_bot's `/tasks google`, the assistant's tasks tool) and run when their tasks are
changed or listed."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from common.features.calendar_client import TaskSyncReport
from common.infrastructure.redis_keys import Names
from google_calendar_service.src.api.deps import calendar_callers_only
from google_calendar_service.src.api.state import STATE, CalendarState
from google_calendar_service.src.domain.task_sync import TaskSync

router = APIRouter(prefix="/tasks", tags=["tasks"], dependencies=[calendar_callers_only])


async def get_task_sync(state: Annotated[CalendarState, Depends(STATE.of)]) -> TaskSync:
    lock = Names(state.settings.redis_key_prefix).google_tasks_sync_lock
    return TaskSync(state.settings, state.calendar, state.rest, state.redis, lock)


TaskSyncDep = Annotated[TaskSync, Depends(get_task_sync)]


@router.put("/{user_id}/sync", response_model=TaskSyncReport)
async def turn_sync_on(user_id: uuid.UUID, sync: TaskSyncDep) -> TaskSyncReport:
    """Sync on, and a first sync. Without tasks access: 409 `google_access_not_granted` (or
    not connected) with the link; sync stays on and starts once access is confirmed."""
    return await sync.turn_on(str(user_id))


@router.delete("/{user_id}/sync", response_model=TaskSyncReport)
async def turn_sync_off(user_id: uuid.UUID, sync: TaskSyncDep) -> TaskSyncReport:
    """Sync off: both lists stay as they are."""
    return await sync.turn_off(str(user_id))


@router.post("/{user_id}/sync", response_model=TaskSyncReport)
async def run_sync(user_id: uuid.UUID, sync: TaskSyncDep) -> TaskSyncReport:
    """Send what changed here, take what changed in Google. `enabled` false: sync is off and
    Google was not asked; `unreachable`: Google failed (nothing here is lost, the next sync
    sends it)."""
    return await sync.run(str(user_id))
