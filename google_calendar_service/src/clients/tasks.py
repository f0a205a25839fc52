"""Tasks v1 through google-api-python-client: the same session, worker thread, retries and
sorting of Google's failures as the calendar's (clients/google.py), on Tasks v1's static
discovery document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from google_calendar_service.src.clients.google import (
    Api,
    CalendarSession,
    GoogleCalendarClient,
    MakeRequest,
    _discovery,
)
from google_calendar_service.src.settings import Settings

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials
    from googleapiclient.discovery import Resource
    from googleapiclient.http import HttpRequest

#: The list every account has; the secretary's tasks mirror it.
DEFAULT_LIST = "@default"
#: tasks.list's largest page.
PAGE_SIZE = 100


class GoogleTasksClient:
    """Tasks v1 calls on a user's credentials, through the calendar client's `execute`."""

    def __init__(self, google: GoogleCalendarClient, settings: Settings) -> None:
        self._google = google
        self._api = Api(_discovery("tasks", "v1"), settings.google_tasks_api_base_url)

    @asynccontextmanager
    async def session(self, credentials: Credentials) -> AsyncIterator[CalendarSession]:
        async with self._google.session(credentials, self._api) as session:
            yield session

    async def task_lists(self, session: CalendarSession) -> list[dict[str, Any]]:
        page = await self._google.execute(
            session, "tasklists.list", lambda service: service.tasklists().list()
        )
        items: list[dict[str, Any]] = page.get("items", [])
        return items

    async def list_tasks(
        self, session: CalendarSession, updated_min: str | None, list_id: str = DEFAULT_LIST
    ) -> list[dict[str, Any]]:
        """Every page of the list's tasks changed since `updated_min` (all when None), done
        and deleted ones too: a sync must see those (a repeated page token ends it)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            make = _page(list_id, updated_min, token)
            page = await self._google.execute(session, "tasks.list", make)
            items.extend(page.get("items", []))
            token = page.get("nextPageToken")
            if not token or token in seen:
                return items
            seen.add(token)

    async def insert(
        self, session: CalendarSession, body: dict[str, Any], list_id: str = DEFAULT_LIST
    ) -> dict[str, Any]:
        made: dict[str, Any] = await self._google.execute(
            session,
            "tasks.insert",
            lambda service: service.tasks().insert(tasklist=list_id, body=body),
        )
        return made

    async def patch(
        self,
        session: CalendarSession,
        task_id: str,
        body: dict[str, Any],
        list_id: str = DEFAULT_LIST,
    ) -> dict[str, Any]:
        """Only the fields in `body` change; a null clears one."""
        patched: dict[str, Any] = await self._google.execute(
            session,
            "tasks.patch",
            lambda service: service.tasks().patch(tasklist=list_id, task=task_id, body=body),
        )
        return patched

    async def delete(
        self, session: CalendarSession, task_id: str, list_id: str = DEFAULT_LIST
    ) -> None:
        await self._google.execute(
            session,
            "tasks.delete",
            lambda service: service.tasks().delete(tasklist=list_id, task=task_id),
        )


def _page(list_id: str, updated_min: str | None, token: str | None) -> MakeRequest:
    def make(service: Resource) -> HttpRequest:
        return service.tasks().list(
            tasklist=list_id,
            showCompleted=True,
            showDeleted=True,
            showHidden=True,
            updatedMin=updated_min,
            maxResults=PAGE_SIZE,
            pageToken=token,
        )

    return make
