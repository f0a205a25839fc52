"""The typed rest_service client: the only one in the repo.

httpx with keep-alive, the bearer token, timeouts, bounded retries with backoff on
connection errors and 503, and rest_service's error bodies turned into typed exceptions
(`NotFoundError`, `ConflictError`, `ValidationFailedError`, `RestServiceUnavailable`, ...).

Typed methods cover every endpoint the services use (docs/rest_api.md). They return plain
JSON dicts typed as `TypedDict`s below (`User`, `Thread`, `Message`, `CronJob`, ...): at run
time they are ordinary dicts, so a field rest_service adds later never breaks a caller, and
a type checker still knows the keys. Ids are strings (UUIDs) except a message's, a run's
and a tool invocation's, which are integers. Datetimes go out as ISO 8601 and come back as
ISO strings. Keyword arguments left out of an update are not sent (a partial `PUT`); pass
`None` to clear a nullable field. Method names are stable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, Literal, TypedDict

import httpx

from common.errors import (
    AppError,
    ConflictError,
    DependencyUnavailableError,
    FieldError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    ValidationFailedError,
)
from common.logging import get_logger
from common.retry import RetryPolicy, http_status, is_connect_error

log = get_logger(__name__)

_ERRORS_BY_STATUS: dict[int, type[AppError]] = {
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationFailedError,
    503: DependencyUnavailableError,
}


class RestServiceUnavailable(DependencyUnavailableError):
    """rest_service did not answer (or answered 503) after the retries."""


class _Unset:
    """Marks a keyword argument that was not given (distinct from `None`, which clears)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

MessageRole = Literal["system", "user", "assistant", "tool"]
CronJobType = Literal["reminder", "assistant_prompt"]
CronJobStatus = Literal["active", "paused", "done", "cancelled", "missed"]
RunOutcome = Literal["on_time", "late", "missed", "failed"]


class User(TypedDict):
    id: str
    telegram_id: int
    username: str | None
    first_name: str | None
    language: str | None
    timezone: str | None
    preferred_model: str | None
    blocked: bool
    created_at: str
    updated_at: str


class Thread(TypedDict):
    id: str
    user_id: str  # the conversation key: a user id, or "chat:<chat_id>" for a group
    assistant_id: str
    thread_id: str
    last_used: str
    created_at: str
    updated_at: str


class MessageIn(TypedDict, total=False):
    """One message to append; only `role` is required."""

    role: MessageRole
    content: str | None
    author: str | None
    user_id: str | None
    tool_calls: list[dict[str, Any]] | None
    tool_call_id: str | None
    name: str | None
    model: str | None
    tokens_in: int | None
    tokens_out: int | None
    latency_ms: int | None
    dedup_key: str | None


class Message(TypedDict):
    id: int
    thread_id: str
    conversation_key: str
    role: MessageRole
    author: str | None
    user_id: str | None
    content: str | None
    tool_calls: list[dict[str, Any]] | None
    tool_call_id: str | None
    name: str | None
    model: str | None
    tokens_in: int | None
    tokens_out: int | None
    latency_ms: int | None
    dedup_key: str | None
    created_at: str


class SearchHit(Message):
    rank: float


class TurnContext(TypedDict):
    """A turn's starting point in one request (`turn_context`); no thread for a blocked
    profile."""

    thread: Thread | None
    profile: User | None
    recent: list[Message]
    memory: list[SearchHit]


class ProviderRef(TypedDict):
    id: str
    name: str
    base_url: str


class LLMModel(TypedDict):
    id: str
    name: str  # the provider's model name, what goes into a chat completion request
    provider_model_name: str
    display_name: str | None
    provider_id: str
    provider: ProviderRef
    is_default: bool
    is_fallback: bool
    is_active: bool
    created_at: str
    updated_at: str


class SnapshotTool(TypedDict):
    id: str
    name: str
    tool_type: str
    description: str | None
    input_schema: dict[str, Any]
    sub_assistant_id: str | None


class SnapshotAssistant(TypedDict):
    id: str
    name: str
    is_secretary: bool
    model: str | None
    instructions: str | None
    assistant_type: str
    openai_assistant_id: str | None
    is_active: bool
    tools: list[SnapshotTool]


class ConfigSnapshot(TypedDict):
    version: int
    secretary: SnapshotAssistant | None
    assistants: list[SnapshotAssistant]
    models: list[LLMModel]


class CalendarCredentials(TypedDict):
    user_id: str
    credentials: dict[str, Any]
    valid: bool
    #: "active" (what the calendar reads) or "pending" (waits for the owner's confirmation).
    status: str
    pending_since: str | None
    created_at: str
    updated_at: str


class CronJob(TypedDict):
    id: str
    name: str
    type: CronJobType
    user_id: str | None
    chat_id: int
    text: str | None
    prompt: str | None
    run_at: str | None
    cron_expression: str | None
    timezone: str
    timezone_assumed: bool  # the user had set no zone: setting one offers to move the job
    status: CronJobStatus
    last_run_at: str | None
    next_run_at: str | None
    idempotency_key: str | None
    created_at: str
    updated_at: str


class CronJobRun(TypedDict):
    id: int
    job_id: str
    scheduled_for: str
    delivered_at: str | None
    outcome: RunOutcome
    error: str | None
    message_id: str | None
    created_at: str


class ToolInvocation(TypedDict):
    id: int
    tool_name: str
    tool_id: str | None
    assistant_id: str | None
    user_id: str | None
    message_id: str | None
    duration_ms: int
    ok: bool
    error: str | None
    created_at: str


class RestClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            transport=transport,
        )
        self._retry = RetryPolicy(retries, backoff_s)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send with retries on connection errors and 503; raise typed errors on 4xx/5xx."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._retry.run(
                lambda: self._http.request(method, path, json=json, params=params),
                retry_exception=is_connect_error,
                retry_result=http_status(503),
                name=f"rest_service {method} {path}",
            )
        except httpx.TransportError as exc:
            raise RestServiceUnavailable(f"rest_service unreachable: {exc}") from exc
        return _raise_for_error(response)

    async def get_json(self, path: str, **params: Any) -> Any:
        return (await self.request("GET", path, params=params)).json()

    async def post_json(self, path: str, body: Any = None, **params: Any) -> Any:
        response = await self.request("POST", path, json=body, params=params)
        return response.json() if response.content else None

    async def put_json(self, path: str, body: Any) -> Any:
        return (await self.request("PUT", path, json=body)).json()

    async def delete(self, path: str, **params: Any) -> None:
        await self.request("DELETE", path, params=params)

    async def health(self) -> dict[str, Any]:
        return (await self._http.get("/health")).json()

    # --- users -------------------------------------------------------------------------------

    async def get_or_create_user(
        self,
        telegram_id: int,
        *,
        username: str | None = None,
        first_name: str | None = None,
        language: str | None = None,
    ) -> tuple[User, bool]:
        """The user with this Telegram id, made if missing; `True` when it was made now."""
        body = {
            "telegram_id": telegram_id,
            "username": username,
            "first_name": first_name,
            "language": language,
        }
        response = await self.request("POST", "/api/users/", json=body)
        return response.json(), response.status_code == 201

    async def get_user(self, user_id: str) -> User:
        return await self.get_json(f"/api/users/{user_id}")

    async def get_user_by_telegram(self, telegram_id: int) -> User:
        """Raises `NotFoundError` when no user has this Telegram id."""
        return await self.get_json(f"/api/users/by-telegram/{telegram_id}")

    async def list_users(
        self, *, blocked: bool | None = None, limit: int = 100, offset: int = 0
    ) -> list[User]:
        return await self.get_json("/api/users/", blocked=blocked, limit=limit, offset=offset)

    async def update_user(
        self,
        user_id: str,
        *,
        username: str | None = UNSET,
        first_name: str | None = UNSET,
        language: str | None = UNSET,
        timezone: str | None = UNSET,
        preferred_model: str | None = UNSET,
        blocked: bool = UNSET,
    ) -> User:
        """Partial update: a 422 names a timezone that is not IANA or a model that does
        not exist."""
        body = _given(
            username=username,
            first_name=first_name,
            language=language,
            timezone=timezone,
            preferred_model=preferred_model,
            blocked=blocked,
        )
        return await self.put_json(f"/api/users/{user_id}", body)

    async def delete_user(self, user_id: str) -> None:
        """`/forget`: the user, their messages, threads, jobs and credentials."""
        await self.delete(f"/api/users/{user_id}")

    # --- config ------------------------------------------------------------------------------

    async def get_config(self) -> ConfigSnapshot:
        return await self.get_json("/api/config")

    async def get_config_version(self) -> int:
        return int((await self.get_json("/api/config/version"))["version"])

    # --- threads and messages -----------------------------------------------------------------

    async def get_or_create_thread(self, conversation_key: str, assistant_id: str) -> Thread:
        """The conversation's thread with this assistant (a user id, or `chat:<chat_id>`)."""
        body = {"user_id": conversation_key, "assistant_id": assistant_id}
        return await self.post_json("/api/threads/", body)

    async def get_thread(self, thread: str) -> Thread:
        """By the row's id or by its `thread_id`."""
        return await self.get_json(f"/api/threads/{thread}")

    async def list_threads(
        self,
        *,
        conversation_key: str | None = None,
        assistant_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Thread]:
        return await self.get_json(
            "/api/threads/",
            user_id=conversation_key,
            assistant_id=assistant_id,
            limit=limit,
            offset=offset,
        )

    async def reset_threads(
        self, conversation_key: str, assistant_id: str | None = None
    ) -> list[Thread]:
        """`/reset`: new `thread_id`s; older messages stay under their old threads."""
        body = {"user_id": conversation_key, "assistant_id": assistant_id}
        return await self.post_json("/api/threads/reset", body)

    async def append_message(
        self,
        thread_id: str,
        role: MessageRole,
        content: str | None = None,
        **fields: Any,
    ) -> Message:
        """One message (fields as in `MessageIn`); a stored `dedup_key` returns the stored one."""
        body = {"role": role, "content": content, **fields}
        return await self.post_json(f"/api/threads/{thread_id}/messages", body)

    async def append_messages(self, thread_id: str, messages: list[MessageIn]) -> list[Message]:
        """A batch in one transaction, in order."""
        body = {"messages": messages}
        return await self.post_json(f"/api/threads/{thread_id}/messages", body)

    async def list_messages(
        self, thread_id: str, *, limit: int = 100, offset: int = 0
    ) -> list[Message]:
        """A page of the thread, oldest first."""
        return await self.get_json(f"/api/threads/{thread_id}/messages", limit=limit, offset=offset)

    async def recent_messages(
        self, thread_id: str, *, limit: int = 20, max_chars: int | None = None
    ) -> list[Message]:
        """The newest messages within `limit` and `max_chars`, oldest first."""
        return await self.get_json(
            f"/api/threads/{thread_id}/messages/recent", limit=limit, max_chars=max_chars
        )

    async def turn_context(
        self,
        conversation_key: str,
        assistant_id: str,
        *,
        profile_id: str | None = None,
        limit: int = 20,
        max_chars: int | None = None,
        memory_query: str | None = None,
        memory_limit: int = 5,
        match: Literal["any", "all"] = "any",
    ) -> TurnContext:
        """`get_or_create_thread`, `get_user(profile_id)` (None when missing),
        `recent_messages` and, given `memory_query`, `search_messages` before that window:
        one request instead of four."""
        body: dict[str, Any] = {
            "user_id": conversation_key,
            "assistant_id": assistant_id,
            "profile_id": profile_id,
            "limit": limit,
            "max_chars": max_chars,
        }
        if memory_query is not None:
            body["memory"] = {"q": memory_query, "limit": memory_limit, "match": match}
        return await self.post_json("/api/threads/context", body)

    async def search_messages(
        self,
        conversation_key: str,
        query: str,
        *,
        limit: int = 5,
        before: datetime | None = None,
        before_id: int | None = None,
        match: Literal["any", "all"] = "any",
    ) -> list[SearchHit]:
        """Full-text hits, best first, from this conversation's threads only (long-term
        memory); `before`/`before_id` leave out the recent window."""
        return await self.get_json(
            "/api/messages/search",
            user_id=conversation_key,
            q=query,
            limit=limit,
            before=_iso(before),
            before_id=before_id,
            match=match,
        )

    # --- LLM providers and models ---------------------------------------------------------------

    async def get_provider_api_key(self, provider_id: str) -> str | None:
        """The decrypted key (service token only); `None` when the provider has none."""
        return (await self.get_json(f"/api/llm-providers/{provider_id}/api-key"))["api_key"]

    async def list_models(
        self, *, active: bool | None = True, limit: int = 1000, offset: int = 0
    ) -> list[LLMModel]:
        return await self.get_json("/api/llm-models/", active=active, limit=limit, offset=offset)

    async def get_model(self, model_id: str) -> LLMModel:
        return await self.get_json(f"/api/llm-models/{model_id}")

    # --- calendar credentials -------------------------------------------------------------------

    async def get_calendar_credentials(self, user_id: str) -> CalendarCredentials | None:
        """`None` when the user has not connected a calendar."""
        try:
            return await self.get_json(f"/api/users/{user_id}/calendar-credentials")
        except NotFoundError:
            return None

    async def put_calendar_credentials(
        self, user_id: str, credentials: Mapping[str, Any], *, valid: bool = True
    ) -> CalendarCredentials:
        body = {"credentials": dict(credentials), "valid": valid}
        return await self.put_json(f"/api/users/{user_id}/calendar-credentials", body)

    async def delete_calendar_credentials(self, user_id: str) -> None:
        await self.delete(f"/api/users/{user_id}/calendar-credentials")

    # A new Google account is pending (unusable) until its Telegram user confirms it.

    async def get_pending_calendar_credentials(self, user_id: str) -> CalendarCredentials | None:
        try:
            return await self.get_json(f"/api/users/{user_id}/calendar-credentials/pending")
        except NotFoundError:
            return None

    async def put_pending_calendar_credentials(
        self, user_id: str, credentials: Mapping[str, Any]
    ) -> CalendarCredentials:
        body = {"credentials": dict(credentials), "valid": True}
        return await self.put_json(f"/api/users/{user_id}/calendar-credentials/pending", body)

    async def delete_pending_calendar_credentials(self, user_id: str) -> bool:
        """False when there was nothing pending."""
        try:
            await self.delete(f"/api/users/{user_id}/calendar-credentials/pending")
        except NotFoundError:
            return False
        return True

    async def confirm_pending_calendar_credentials(
        self, user_id: str, *, max_age_seconds: int
    ) -> CalendarCredentials | None:
        """The pending connection made active; `None` when none was pending or it expired."""
        try:
            return await self.post_json(
                f"/api/users/{user_id}/calendar-credentials/pending/confirm",
                {"max_age_seconds": max_age_seconds},
            )
        except NotFoundError:
            return None

    async def expire_pending_calendar_credentials(
        self, *, max_age_seconds: int
    ) -> list[CalendarCredentials]:
        """Drops pending connections older than `max_age_seconds`; answers the dropped ones."""
        return await self.post_json(
            "/api/users/calendar-credentials/pending/expire", {"max_age_seconds": max_age_seconds}
        )

    # --- cron jobs and runs ---------------------------------------------------------------------

    async def create_cron_job(
        self,
        *,
        name: str,
        chat_id: int,
        user_id: str | None = None,
        type: CronJobType = "reminder",
        text: str | None = None,
        prompt: str | None = None,
        run_at: datetime | None = None,
        cron_expression: str | None = None,
        timezone: str | None = None,
        idempotency_key: str | None = None,
        timezone_assumed: bool | None = None,
    ) -> CronJob:
        """One-off (`run_at`, aware) or recurring (`cron_expression`, 5 fields); a stored
        `idempotency_key` returns the stored job."""
        body = {
            "name": name,
            "type": type,
            "user_id": user_id,
            "chat_id": chat_id,
            "text": text,
            "prompt": prompt,
            "run_at": _iso(run_at),
            "cron_expression": cron_expression,
            "timezone": timezone,
            "idempotency_key": idempotency_key,
            "timezone_assumed": timezone_assumed,
        }
        return await self.post_json(
            "/api/cron-jobs/", {k: v for k, v in body.items() if v is not None}
        )

    async def get_cron_job(self, job_id: str) -> CronJob:
        return await self.get_json(f"/api/cron-jobs/{job_id}")

    async def update_cron_job(
        self,
        job_id: str,
        *,
        name: str = UNSET,
        text: str | None = UNSET,
        prompt: str | None = UNSET,
        run_at: datetime | None = UNSET,
        cron_expression: str | None = UNSET,
        timezone: str = UNSET,
        timezone_assumed: bool = UNSET,
        status: CronJobStatus = UNSET,
        last_run_at: datetime | None = UNSET,
        next_run_at: datetime | None = UNSET,
    ) -> CronJob:
        body = _given(
            name=name,
            text=text,
            prompt=prompt,
            run_at=_iso(run_at),
            cron_expression=cron_expression,
            timezone=timezone,
            timezone_assumed=timezone_assumed,
            status=status,
            last_run_at=_iso(last_run_at),
            next_run_at=_iso(next_run_at),
        )
        return await self.put_json(f"/api/cron-jobs/{job_id}", body)

    async def delete_cron_job(self, job_id: str) -> None:
        await self.delete(f"/api/cron-jobs/{job_id}")

    async def list_cron_jobs(
        self,
        *,
        user_id: str | None = None,
        chat_id: int | None = None,
        status: CronJobStatus | None = None,
        type: CronJobType | None = None,
        due_before: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CronJob]:
        return await self.get_json(
            "/api/cron-jobs/",
            user_id=user_id,
            chat_id=chat_id,
            status=status,
            type=type,
            due_before=_iso(due_before),
            limit=limit,
            offset=offset,
        )

    async def iter_cron_jobs(self, **filters: Any) -> AsyncIterator[CronJob]:
        """Every job matching `list_cron_jobs`' filters, page by page."""
        offset = 0
        while True:
            page = await self.list_cron_jobs(**filters, limit=1000, offset=offset)
            for job in page:
                yield job
            if len(page) < 1000:
                return
            offset += len(page)

    async def append_cron_job_run(
        self,
        job_id: str,
        *,
        scheduled_for: datetime,
        outcome: RunOutcome,
        delivered_at: datetime | None = None,
        error: str | None = None,
        message_id: str | None = None,
    ) -> CronJobRun:
        """One run per `(job_id, scheduled_for)`: a repeat returns the stored run."""
        body = {
            "scheduled_for": _iso(scheduled_for),
            "outcome": outcome,
            "delivered_at": _iso(delivered_at),
            "error": error,
            "message_id": message_id,
        }
        return await self.post_json(f"/api/cron-jobs/{job_id}/runs", body)

    async def list_cron_job_runs(
        self, job_id: str, *, limit: int = 100, offset: int = 0
    ) -> list[CronJobRun]:
        return await self.get_json(f"/api/cron-jobs/{job_id}/runs", limit=limit, offset=offset)

    async def list_runs(
        self,
        *,
        outcome: RunOutcome | None = None,
        since: datetime | None = None,
        job_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CronJobRun]:
        return await self.get_json(
            "/api/cron-job-runs/",
            outcome=outcome,
            since=_iso(since),
            job_id=job_id,
            limit=limit,
            offset=offset,
        )

    # --- tool invocations -----------------------------------------------------------------------

    async def append_tool_invocation(
        self,
        tool_name: str,
        *,
        ok: bool,
        duration_ms: int,
        tool_id: str | None = None,
        assistant_id: str | None = None,
        user_id: str | None = None,
        message_id: str | None = None,
        error: str | None = None,
    ) -> ToolInvocation:
        body = {
            "tool_name": tool_name,
            "ok": ok,
            "duration_ms": duration_ms,
            "tool_id": tool_id,
            "assistant_id": assistant_id,
            "user_id": user_id,
            "message_id": message_id,
            "error": error,
        }
        return await self.post_json("/api/tool-invocations/", body)


def _given(**fields: Any) -> dict[str, Any]:
    """The keyword arguments a caller gave (partial update bodies)."""
    return {name: value for name, value in fields.items() if value is not UNSET}


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _raise_for_error(response: httpx.Response) -> httpx.Response:
    if response.status_code < 400:
        return response
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    fields = [
        FieldError(str(f.get("field")), str(f.get("reason")))
        for f in (body.get("fields") or [] if isinstance(body, dict) else [])
        if isinstance(f, dict)
    ]
    error_type = _ERRORS_BY_STATUS.get(response.status_code)
    if response.status_code == 503:
        error_type = RestServiceUnavailable
    message = str(detail or f"rest_service answered {response.status_code}")
    if error_type is None:
        error = AppError(message, fields)
        error.status_code = response.status_code
        raise error
    raise error_type(message, fields)
