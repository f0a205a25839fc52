"""The public API: other software talks to the secretary, with its tools and memory, as a
channel of its own (docs/api.md).

- `POST /v1/chat/completions` and `GET /v1/models` speak OpenAI's protocol, so any OpenAI
  client works unchanged: `model` names an assistant, `user` the caller's person, and the
  answer is waited for (streamed as server-sent events with `stream: true`).
- `POST /api/v1/messages` answers 202 at once; the answer goes to the client's webhook
  (signed, retried, dead-lettered: rest_service's outbox) and to `GET /api/v1/messages/{id}`.

A caller is an API client of rest_service's, known by its key on every request (a revoked
key stops at once). A person is `<client id>:<user>`: one client never reaches another's
people or messages. Messages go through the intake as every channel's do (the per-person
limits, one message per idempotency key); answers come back through `send`, on whichever
replica, and reach the waiting request through Redis (`records.py`)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from redis.exceptions import RedisError

from channels.src.adapters.api.files import ApiFiles
from channels.src.adapters.api.records import FROM_START, Delivery, Event, Record, Records
from channels.src.adapters.api.schemas import (
    SECRETARY,
    AnswerOut,
    ChatCompletionRequest,
    FileOut,
    MessageIn,
    MessageState,
    ModelList,
    ModelOut,
    Usage,
    chunk,
    completion,
    usage_chunk,
)
from channels.src.adapters.base import Adapter, AdapterContext
from channels.src.adapters.buttons import pressed_button
from channels.src.intake import Inbound, Received
from channels.src.settings import Settings
from common.features.limits import ClientRateLimit
from common.infrastructure.channels import Channel
from common.infrastructure.errors import (
    AppError,
    ConflictError,
    DependencyUnavailableError,
    FieldError,
    ForbiddenError,
    NotFoundError,
    RetryLater,
    TooManyRequestsError,
    UnauthorizedError,
    Undeliverable,
    ValidationFailedError,
)
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import (
    Attachment,
    Button,
    DraftMessage,
    OutgoingMessage,
    channel_message_uuid,
)
from common.infrastructure.wire import ApiClient

log = get_logger(__name__)

#: What an answer's webhook delivery is called: an answer to a message the client sent, or a
#: message nobody asked for right then (a reminder, a briefing).
ANSWERED, NOTIFICATION = "message.answered", "message.notification"
#: The person of a client that names none (`user` left out of a chat completion).
NO_USER = "default"
#: How long one read of a message's events waits before the request looks again.
READ_BLOCK_MS = 5_000
#: The public API's paths, for its own OpenAPI document.
V1 = "/v1"
MESSAGES = "/api/v1/messages"
FILES = "/api/v1/files"


def person_id(client: ApiClient | str, user: str) -> str:
    """A client's person as the channel knows them: the client's id and the caller's id."""
    client_id = client.id if isinstance(client, ApiClient) else client
    return f"{client_id}:{user}"


def _button(button: Button) -> dict[str, str]:
    return {"text": button.text, "url": button.url} if button.url else {
        "text": button.text, "data": button.data or ""
    }  # fmt: skip


def answer_body(message: OutgoingMessage) -> dict[str, Any]:
    usage = message.usage
    return AnswerOut(
        id=message.message_id,
        text=message.text,
        kind=message.kind.value,
        created_at=message.created_at,
        buttons=[[_button(b) for b in row] for row in message.buttons],
        usage=None if usage is None else Usage.of(usage.prompt_tokens, usage.completion_tokens),
    ).model_dump(mode="json")


class ApiAdapter(Adapter):
    channel: ClassVar[Channel] = Channel.API
    shows_drafts: ClassVar[bool] = True

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        settings = context.settings
        self.records = Records(context.redis, context.names, settings.api_message_ttl_seconds)
        self.limits = ClientRateLimit(context.redis, context.names)
        self.files = ApiFiles(context)
        self.timeout_s = settings.api_answer_timeout_seconds

    @classmethod
    def turned_off(cls, settings: Settings) -> str | None:
        return None if settings.api_enabled else "API_ENABLED is false"

    # --- the caller -----------------------------------------------------------------------

    async def caller(self, authorization: Annotated[str | None, Header()] = None) -> ApiClient:
        """The API client whose key the request carries (`Authorization: Bearer <key>`)."""
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise UnauthorizedError("an API key is needed: Authorization: Bearer <key>")
        try:
            return await self.context.rest.authenticate_api_client(key.strip())
        except UnauthorizedError:
            raise
        except AppError as exc:
            log.warning("api_key_check_failed", error=str(exc)[:200])
            raise DependencyUnavailableError("the key cannot be checked now; try again") from exc

    async def _admit(self, client: ApiClient, request_id: str) -> None:
        """The client's own limits: 429 with Retry-After when one is spent."""
        if not client.per_minute_limit and not client.daily_limit:
            return
        admission = await self.limits.admit(
            str(client.id), request_id, client.per_minute_limit, client.daily_limit
        )
        if not admission.admitted:
            log.info("api_client_limited", client=client.name)
            raise TooManyRequestsError(
                f"the client's limit is reached; try again in {admission.wait_seconds} s",
                admission.wait_seconds,
            )

    @staticmethod
    def _assistant(client: ApiClient, name: str, field: str) -> str:
        """The assistant a request names, if the client may use it."""
        if name == SECRETARY or name in client.allowed_assistants:
            return name
        reason = f"no assistant {name!r} for this client"
        raise NotFoundError(f"{field}: {reason}", [FieldError(field, reason)])

    # --- routes ---------------------------------------------------------------------------

    @property
    def router(self) -> APIRouter:
        router = APIRouter(tags=["public API"], dependencies=[])
        # A default, not an `Annotated` alias: these annotations are strings (PEP 563),
        # resolved in the module's globals, where a local alias is not.
        caller = Depends(self.caller)

        async def models(client: ApiClient = caller) -> ModelList:
            """The assistants this client may talk to (`model` in a chat completion)."""
            return self.models(client)

        async def chat_completions(body: ChatCompletionRequest, client: ApiClient = caller) -> Any:
            """OpenAI's chat completion: the last user message is said to the assistant
            `model`, for the person `user`; the answer is waited for, or streamed."""
            return await self.chat(body, client)

        async def post_message(
            body: MessageIn,
            idempotency_key: Annotated[str | None, Header()] = None,
            client: ApiClient = caller,
        ) -> JSONResponse:
            """Queues the message and answers 202 at once with its id; the answer goes to
            the client's webhook and to `GET /api/v1/messages/{id}`."""
            state = await self.post_message(body, client, idempotency_key)
            return JSONResponse(state.model_dump(mode="json"), status_code=202)

        async def upload(
            request: Request,
            name: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
            client: ApiClient = caller,
        ) -> FileOut:
            """A file for a message to name (`attachments: [{"file_id": ...}]`): the raw
            bytes as the body, their type as `Content-Type`; kept 30 minutes."""
            await self._admit(client, uuid.uuid4().hex)
            return await self.files.upload(client, request, name)

        async def get_message(message_id: uuid.UUID, client: ApiClient = caller) -> MessageState:
            """A message's state and answer; 404 for a message that is not this client's."""
            return await self.get_message(message_id, client)

        router.add_api_route(f"{V1}/models", models, methods=["GET"], response_model=ModelList)
        router.add_api_route(f"{V1}/chat/completions", chat_completions, methods=["POST"])
        router.add_api_route(
            MESSAGES, post_message, methods=["POST"], status_code=202,
            response_model=MessageState,
        )  # fmt: skip
        router.add_api_route(
            FILES, upload, methods=["POST"], status_code=201, response_model=FileOut
        )
        router.add_api_route(
            f"{MESSAGES}/{{message_id}}", get_message, methods=["GET"],
            response_model=MessageState,
        )  # fmt: skip
        public_routes = list(router.routes)

        async def openapi() -> dict[str, Any]:
            return get_openapi(
                title="Smart Assistant public API",
                version="1.0.0",
                description="OpenAI-compatible chat and asynchronous messages with signed "
                "webhooks. Every request carries an API client's key: "
                "`Authorization: Bearer sa_...`.",
                routes=public_routes,
            )

        async def docs() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url=f"{V1}/openapi.json", title="Public API")

        router.add_api_route(
            f"{V1}/openapi.json", openapi, methods=["GET"], include_in_schema=False
        )
        router.add_api_route(f"{V1}/docs", docs, methods=["GET"], include_in_schema=False)
        return router

    def models(self, client: ApiClient) -> ModelList:
        created = int(client_created(client))
        names = dict.fromkeys([SECRETARY, *client.allowed_assistants])
        return ModelList(data=[ModelOut(id=name, created=created) for name in names])

    async def chat(self, body: ChatCompletionRequest, client: ApiClient) -> Any:
        try:
            text = body.said()
        except ValueError as exc:
            fields = [FieldError("messages", str(exc))]
            raise ValidationFailedError(f"messages: {exc}", fields) from None
        assistant = self._assistant(client, body.model, "model")
        request_id = uuid.uuid4().hex
        await self._admit(client, request_id)
        user = body.user or NO_USER
        record = await self._take(client, user, assistant, request_id, text, "wait")
        completion_id = f"chatcmpl-{record.id}"
        created = int(time.time())
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                self._stream(record, completion_id, created, body.model, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )
        answer = await self._wait(record)
        return completion(completion_id, created, body.model, answer["text"], _usage(answer))

    async def post_message(
        self, body: MessageIn, client: ApiClient, header_key: str | None
    ) -> MessageState:
        key = body.idempotency_key or header_key
        if key is not None and not 0 < len(key) <= 128:
            raise ValidationFailedError(
                "Idempotency-Key: 1 to 128 characters", [FieldError("idempotency_key", "length")]
            )
        assistant = self._assistant(client, body.assistant, "assistant")
        request_id = key or uuid.uuid4().hex
        await self._admit(client, request_id)
        delivery: Delivery = "webhook" if client.webhook_url else "get"
        message_id = str(channel_message_uuid(Channel.API, str(client.id), request_id))
        files = await self.files.attachments(client, message_id, body.attachments)
        record = await self._take(
            client, body.user, assistant, request_id, body.text, delivery, files
        )
        return state_of(record)

    async def get_message(self, message_id: uuid.UUID, client: ApiClient) -> MessageState:
        record = await self.records.get(str(message_id))
        if record is None or record.client != str(client.id):
            raise NotFoundError(f"no message {message_id}")
        return state_of(record)

    # --- a message in ---------------------------------------------------------------------

    async def _take(
        self,
        client: ApiClient,
        user: str,
        assistant: str,
        request_id: str,
        text: str,
        delivery: Delivery,
        attachments: list[Attachment] | None = None,
    ) -> Record:
        """The message through the intake, once per request id; its record, kept before
        the intake queues it, so its answer always finds it."""
        person = person_id(client, user)
        message_id = str(channel_message_uuid(Channel.API, str(client.id), request_id))
        record = Records.new(message_id, str(client.id), user, assistant, delivery)
        record = await self.records.open(record)
        if record.user != user:  # an idempotency key used again for someone else
            reason = "the key was used for another message"
            fields = [FieldError("idempotency_key", reason)]
            raise ConflictError(f"idempotency_key: {reason}", fields)
        inbound = Inbound(
            channel=Channel.API,
            account=str(client.id),
            message_id=request_id,
            chat_id=person,
            sender_id=person,
            text=text,
            attachments=attachments or [],
            assistant=None if assistant == SECRETARY else assistant,
        )
        received = await self._said(person, inbound)
        if received is Received.BLOCKED:
            await self.records.refused(record)
            raise ForbiddenError("this person is blocked")
        if received is Received.UNREADABLE:  # pragma: no cover - `Person` lets none through
            raise ValidationFailedError("user: not a usable id", [FieldError("user", "unusable")])
        if received is Received.LIMITED:
            await self.records.refused(record)
            limit = self.context.settings.rate_limit_messages_per_minute
            raise TooManyRequestsError(f"this person sent over {limit} messages a minute", 60)
        log.info("api_message_taken", client=client.name, outcome=received.value)
        return record

    async def _said(self, person: str, inbound: Inbound) -> Received:
        """A message whose whole text is the label of a button under the person's last
        answer presses it (a Yes runs the held call, a Cancel cancels the reminder); any
        other goes to the secretary."""
        raw = await self.context.redis.get(self.context.names.api_buttons(person))
        buttons = json.loads(raw) if raw and not inbound.attachments else []
        button = pressed_button(inbound.text, buttons)
        if button is None:
            return await self.context.intake.receive(inbound)
        return await self.context.intake.press(inbound, button["data"], button["text"])

    async def _keep_buttons(self, message: OutgoingMessage) -> None:
        """The buttons an answer carries, for the person's next message to press in words."""
        pressable = [
            {"text": b.text, "data": b.data} for row in message.buttons for b in row if b.data
        ]
        if pressable and message.channel_chat_id:
            key = self.context.names.api_buttons(message.channel_chat_id)
            ttl = self.context.settings.api_message_ttl_seconds
            await self.context.redis.set(key, json.dumps(pressable), ex=ttl)

    # --- waiting for the answer -----------------------------------------------------------

    async def _events(self, record: Record) -> AsyncIterator[Event]:
        """The message's drafts and answer as they come, until the answer; a request that
        outlives the timeout gets a 504 naming the message (its answer is then in GET)."""
        after = FROM_START
        deadline = time.monotonic() + self.timeout_s
        while (left := deadline - time.monotonic()) > 0:
            block = max(1, min(READ_BLOCK_MS, int(left * 1000)))
            for event in await self.records.events(record.id, after, block):
                after = event.id
                yield event
                if event.kind == "answer":
                    return
        raise AnswerTimeout(record.id)

    async def _wait(self, record: Record) -> dict[str, Any]:
        """The answer (the last event: `_events` ends with it); drafts are passed over, not
        kept, so a long answer's many drafts cost no memory."""
        last: dict[str, Any] = {}
        async for event in self._events(record):
            last = event.body
        return last

    async def _stream(
        self, record: Record, completion_id: str, created: int, model: str, include_usage: bool
    ) -> AsyncIterator[str]:
        """Server-sent events in OpenAI's chunk format: the role, then the text as it grows
        (a draft that does not continue what was sent, as after a tool call starts the text
        over, is left out), then the rest of the answer, the finish and `[DONE]`."""

        def event(data: dict[str, Any]) -> str:
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        yield event(chunk(completion_id, created, model, {"role": "assistant", "content": ""}))
        sent = ""
        try:
            async for update in self._events(record):
                text = str(update.body.get("text") or "")
                if update.kind == "draft" and not text.startswith(sent):
                    continue
                if update.kind == "answer" and not text.startswith(sent):
                    text = f"{sent}\n\n{text}"  # said after what was streamed, not lost
                if len(text) > len(sent):
                    delta = {"content": text[len(sent) :]}
                    yield event(chunk(completion_id, created, model, delta))
                    sent = text
                if update.kind == "answer":  # the last event
                    yield event(chunk(completion_id, created, model, {}, "stop"))
                    if include_usage:
                        usage = _usage(update.body)
                        yield event(usage_chunk(completion_id, created, model, usage))
        except AnswerTimeout as exc:
            yield event({"error": exc.to_dict()})
        except RedisError:
            log.warning("api_stream_unavailable")
            yield event({"error": DependencyUnavailableError("the queue is unreachable").to_dict()})
        yield "data: [DONE]\n\n"

    # --- answers --------------------------------------------------------------------------

    async def show_draft(self, draft: DraftMessage) -> None:
        if draft.correlation_id is None:
            return
        body = {"text": draft.text, "status": draft.status, "seq": draft.seq}
        await self.records.add_event(draft.correlation_id, "draft", body)

    async def send(self, message: OutgoingMessage) -> None:
        """An answer to a message the client sent reaches its waiting request (or its record,
        for GET) and, for an asynchronous message, the client's webhook; anything else (a
        reminder, a briefing) goes to the webhook as a notification."""
        try:
            record = (
                await self.records.get(message.correlation_id) if message.correlation_id else None
            )
            body = answer_body(message)
            await self._keep_buttons(message)
            if record is not None:
                # Once more on a redelivery: the same answer again, and the webhook's outbox
                # keeps one delivery per answer id.
                record = await self.records.answered(record, body)
                if record.delivery == "webhook":
                    await self._deliver(record.client, ANSWERED, message, {
                        "message": state_of(record).model_dump(mode="json"),
                    })  # fmt: skip
                return
        except RedisError as exc:
            raise RetryLater(1.0, f"redis: {exc}") from exc
        person = message.channel_chat_id or ""
        client, _, user = person.partition(":")
        await self._deliver(client, NOTIFICATION, message, {"user": user, "message": body})

    async def _deliver(
        self, client: str, event: str, message: OutgoingMessage, payload: dict[str, Any]
    ) -> None:
        """Into rest_service's outbox: signed, retried for a day, then dead (in the admin)."""
        try:
            await self.context.rest.queue_api_client_delivery(
                uuid.UUID(client), event, message.message_id, payload
            )
        except (ConflictError, NotFoundError, ValueError) as exc:
            if event == ANSWERED:  # no webhook: the answer waits in GET, nothing is lost
                log.info("api_answer_kept_for_get", reason=str(exc)[:200])
                return
            raise Undeliverable(f"api client {client[:40]}: {str(exc)[:200]}") from exc
        except AppError as exc:
            raise RetryLater(2.0, f"rest_service: {str(exc)[:200]}") from exc


class AnswerTimeout(AppError):
    """The answer took longer than API_ANSWER_TIMEOUT_SECONDS: it still comes, to GET."""

    status_code, error = 504, "answer_timeout"

    def __init__(self, message_id: str) -> None:
        super().__init__(
            f"the answer is taking longer; it will be at GET {MESSAGES}/{message_id}",
            [FieldError("id", message_id)],
        )


def state_of(record: Record) -> MessageState:
    return MessageState(
        id=uuid.UUID(record.id),
        user=record.user,
        assistant=record.assistant,
        status=record.status,
        created_at=record.created,
        answer=AnswerOut.model_validate(record.answer) if record.answer else None,
    )


def _usage(answer: dict[str, Any]) -> Usage:
    return Usage.model_validate(answer.get("usage") or {})


def client_created(client: ApiClient) -> float:
    """The models' `created`: the client's own, when rest_service says it (else now)."""
    created = getattr(client, "created_at", None)
    return created.timestamp() if created is not None else time.time()
