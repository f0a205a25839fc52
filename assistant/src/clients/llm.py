"""One LLM interface over the OpenAI chat-completions protocol, for every provider.

A client per (base URL, key), the SDK's own retries off: ours (`common.infrastructure.retry`) here,
with a timeout on every call, `retry-after` honoured on 429, and the next model in the order tried
when a model keeps failing. A model whose circuit breaker is open (`llm_breaker.py`) is skipped
without a request, and a half-open one is tried once. Tokens and latency come back with every
completion.

With a `TextSink` the completion is streamed (`stream=True`, usage in the last chunk): the
sink hears the text as it grows, and the tool calls are assembled from their deltas. Only a
stream that reached its finish reason is a completion; one that broke off is an attempt that
failed like any other (retried, then the next model), so nothing half-written is returned.
The SDK makes the request (auth, status errors as types); its events are read as JSON here,
since building the SDK's model of every chunk cost more CPU than the rest of a turn.

Inside a `recording(TurnRecord)` scope (one incoming message's turn) every finished
completion is kept in Redis under the request's digest, and a request with a kept answer is
not sent again: a message redelivered after a restart or a crash does not pay the model twice
for a step it answered. Inside a `timing_model(ModelClock)` scope the time waited on the model
adds up, for the answer time that leaves it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx2
import openai
import redis.asyncio as aioredis
from openai.types.chat import ChatCompletion
from prometheus_client import Counter, Histogram

from assistant.src.clients.llm_breaker import Admission, CircuitBreaker
from assistant.src.settings import Settings
from common.features.llm_stats import LlmCounts, LlmStats
from common.infrastructure import tracing
from common.infrastructure.logging import get_logger
from common.infrastructure.retry import RetryPolicy, retry_after

log = get_logger(__name__)

T = TypeVar("T")

LLM_REQUESTS = Counter(
    "smart_assistant_llm_requests_total", "LLM requests, by model and outcome", ["model", "outcome"]
)
LLM_SECONDS = Histogram(
    "smart_assistant_llm_request_seconds",
    "LLM request latency",
    ["model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
LLM_FIRST_TEXT_SECONDS = Histogram(
    "smart_assistant_llm_first_text_seconds",
    "From a streamed request to its first text",
    ["model"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LLM_TOKENS = Counter(
    "smart_assistant_llm_tokens_total", "LLM tokens, by model and direction", ["model", "direction"]
)
LLM_REUSED = Counter(
    "smart_assistant_llm_completions_reused_total",
    "Completions a redelivered message's turn took from its record instead of the model",
)

#: Statuses worth trying again on the same model; the rest go straight to the next model.
_RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}
#: Statuses that say this request is wrong, not the model: they do not count for the breaker.
_REQUEST_FAULT_STATUS = {400, 413, 422}
_REQUEST_FAULT_TEXT = {str(status) for status in _REQUEST_FAULT_STATUS}

_SAMPLE_COMPLETION = {
    "id": "warm-up",
    "object": "chat.completion",
    "created": 0,
    "model": "warm-up",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
        }
    ],
    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
}

KeySource = Callable[[str], Awaitable[str | None]]
"""Reads a provider's API key by provider id (rest_service's secret endpoint)."""

TextSink = Callable[[str], Awaitable[None]]
"""Hears a streamed completion's text as it grows: the whole text so far, each time."""


@dataclass(frozen=True)
class ModelRoute:
    """Where one model is served: its name, the provider's base URL and id (None: no
    provider row, so no key: OPENAI_BASE_URL before any configuration exists)."""

    model: str
    base_url: str
    provider_id: str | None = None


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class Completion:
    content: str | None
    tool_calls: tuple[ToolCall, ...]
    model: str
    tokens_in: int | None
    tokens_out: int | None
    latency_ms: int
    #: Taken from the turn's record: the model was not asked, and its tokens were counted
    #: (against the user's daily budget) when it was.
    reused: bool = field(default=False, compare=False)


@dataclass
class Attempt:
    """What went wrong with one model, for the log and the final error."""

    model: str
    errors: list[str] = field(default_factory=list)


#: How long a turn's finished completions are kept for a redelivery of its message (handed
#: back at a shutdown, claimed after a crash, retried while rest_service is down); the
#: record is deleted with the answer's publication, so it outlives only unanswered turns.
TURN_RECORD_TTL_S = 3600


@dataclass(frozen=True)
class TurnRecord:
    """One turn's finished completions: a Redis hash, one field per request digest.
    `existed`: the hash was there when the turn began (a redelivery); when not, nothing is
    looked up (a first delivery costs only the writes). Redis failing here never fails the
    turn: the model is asked, as without a record."""

    redis: aioredis.Redis
    key: str
    existed: bool

    async def get(self, digest: str) -> Completion | None:
        if not self.existed:
            return None
        try:
            raw = await self.redis.hget(self.key, digest)
        except aioredis.RedisError as exc:
            log.warning("llm_record_unreadable", error=str(exc))
            return None
        return _from_record(raw) if raw else None

    async def put(self, digest: str, completion: Completion) -> None:
        try:
            async with self.redis.pipeline(transaction=True) as tx:
                tx.hset(self.key, digest, _to_record(completion))
                tx.expire(self.key, TURN_RECORD_TTL_S)
                await tx.execute()
        except aioredis.RedisError as exc:
            log.warning("llm_record_unwritten", error=str(exc))


_TURN_RECORD: contextvars.ContextVar[TurnRecord | None] = contextvars.ContextVar(
    "turn_record", default=None
)


@contextlib.contextmanager
def _within(var: contextvars.ContextVar[T | None], value: T) -> Iterator[T]:
    """`var` is `value` inside (tasks started inside included)."""
    token = var.set(value)
    try:
        yield value
    finally:
        var.reset(token)


def recording(record: TurnRecord) -> contextlib.AbstractContextManager[TurnRecord]:
    """Completions asked for inside (sub-assistants' included) are kept in `record`."""
    return _within(_TURN_RECORD, record)


@dataclass
class ModelClock:
    """The time one turn waits on the model: from the first of its requests in flight to the
    last of them finished, so requests at the same time (sub-assistants asked at once) count
    once. Retries and the fallback models are the model's time too."""

    seconds: float = 0.0
    now: Callable[[], float] = time.perf_counter
    _in_flight: int = 0
    _since: float = 0.0

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        if self._in_flight == 0:
            self._since = self.now()
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self.seconds += self.now() - self._since


_MODEL_CLOCK: contextvars.ContextVar[ModelClock | None] = contextvars.ContextVar(
    "model_clock", default=None
)


def timing_model(clock: ModelClock) -> contextlib.AbstractContextManager[ModelClock]:
    """Completions asked for inside (sub-assistants' included) add their wait to `clock`."""
    return _within(_MODEL_CLOCK, clock)


def request_digest(
    routes: Sequence[ModelRoute],
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    tool_choice: str | None,
) -> str:
    """The identity of one step of a turn, stable across its redeliveries: the models, the
    tool names, and the messages without what changes between two tries of the same step
    (the system prompt's clock, the text of tool results run again)."""
    shape: list[Any] = []
    for message in messages:
        role = message.get("role")
        if role == "system":
            shape.append(["system", re.sub(r"\d", "", str(message.get("content") or ""))])
        elif role == "tool":
            shape.append(["tool", message.get("tool_call_id")])
        else:
            shape.append(message)
    names = [(t.get("function") or {}).get("name") for t in tools or ()]
    body = json.dumps(
        [[r.model for r in routes], names, tool_choice, shape], sort_keys=True, default=str
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _to_record(completion: Completion) -> str:
    return json.dumps(dataclasses.asdict(completion))


def _from_record(raw: bytes | str) -> Completion | None:
    try:
        data = json.loads(raw)
        calls = tuple(ToolCall(**c) for c in data.pop("tool_calls"))
        return Completion(tool_calls=calls, **data)
    except (ValueError, TypeError, KeyError):
        return None


class LlmUnavailable(Exception):
    """Every model in the order failed after its retries."""

    def __init__(self, attempts: Sequence[Attempt]) -> None:
        summary = "; ".join(f"{a.model}: {a.errors[-1] if a.errors else '?'}" for a in attempts)
        super().__init__(f"no model answered ({summary})")
        self.attempts = list(attempts)

    @property
    def request_refused(self) -> bool:
        """The last model's provider said the request itself is wrong (400, 413, 422): a
        content policy refusing a prompt, not an outage."""
        last = self.attempts[-1].errors[-1:] if self.attempts else []
        return any(error.split(":", 1)[0] in _REQUEST_FAULT_TEXT for error in last)


class EmptyCompletion(Exception):
    """The endpoint answered 200 without a choice."""


class BrokenStream(Exception):
    """A streamed completion ended before its finish reason (the connection was cut)."""


#: Failures worth another try on the same model (a status only if in `_RETRYABLE_STATUS`).
_RETRIED = (openai.APIError, TimeoutError, EmptyCompletion, BrokenStream)


class _GiveUpOnModel(Exception):
    """This model will not answer this request (bad request, auth, unknown model)."""


#: Why a model was not asked (its breaker is open), in `Attempt.errors`.
BREAKER_OPEN = "breaker open: skipped"


class LlmGateway:
    def __init__(
        self,
        settings: Settings,
        keys: KeySource,
        breaker: CircuitBreaker | None = None,
        stats: LlmStats | None = None,
    ) -> None:
        self._settings = settings
        self._keys = keys
        self._breaker = breaker
        self._stats = stats
        self._key_cache: dict[str, str | None] = {}
        self._clients: dict[tuple[str, str], openai.AsyncOpenAI] = {}
        # Half of each step to one and a half; a Retry-After replaces the backoff.
        self._retry = RetryPolicy(
            settings.llm_max_attempts - 1,
            settings.llm_retry_base_seconds,
            settings.llm_retry_max_seconds,
            floor=0.5,
            ceiling=1.5,
            obey_asked=True,
        )

    async def warm_up(self) -> None:
        """The SDK imports its resources and builds its response models on first use, with
        the event loop blocked: do it at start, not inside the first message."""
        client = openai.AsyncOpenAI(api_key="warm-up", base_url=self._settings.openai_base_url)
        _ = client.chat.completions
        await client.close()
        ChatCompletion.model_validate(_SAMPLE_COMPLETION)

    def forget_keys(self) -> None:
        """Called when the config changes: a provider's key may have been rotated."""
        self._key_cache.clear()

    async def aclose(self) -> None:
        if self._stats is not None:
            await self._stats.drain()
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    async def complete(
        self,
        routes: Sequence[ModelRoute],
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        *,
        tool_choice: str | None = None,
        on_text: TextSink | None = None,
    ) -> Completion:
        """The first model in `routes` that answers; `LlmUnavailable` when none does.
        `on_text`: stream the completion, telling it the text as it grows. In a turn whose
        record holds this step's answer, that answer (and no request)."""
        record = _TURN_RECORD.get()
        digest = ""
        if record is not None:
            digest = request_digest(routes, messages, tools, tool_choice)
            kept = await record.get(digest)
            if kept is not None:
                log.info("llm_completion_reused", model=kept.model)
                LLM_REUSED.inc()
                if on_text is not None and kept.content:
                    await on_text(kept.content)
                return dataclasses.replace(kept, reused=True)
        clock = _MODEL_CLOCK.get()
        with clock.waiting() if clock is not None else contextlib.nullcontext():
            completion = await self._complete(routes, messages, tools, tool_choice, on_text)
        if record is not None:
            await record.put(digest, completion)
        return completion

    async def _complete(
        self,
        routes: Sequence[ModelRoute],
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        tool_choice: str | None,
        on_text: TextSink | None,
    ) -> Completion:
        attempts: list[Attempt] = []
        for index, route in enumerate(routes):
            attempt = Attempt(route.model)
            attempts.append(attempt)
            admission = await self._admit(route.model)
            if admission is Admission.OPEN:
                attempt.errors.append(BREAKER_OPEN)
                continue
            try:
                completion = await self._with_retries(
                    route,
                    functools.partial(
                        self._once, route, _Request(messages, tools, tool_choice, on_text)
                    ),
                    attempt,
                    admission,
                )
            except _GiveUpOnModel:
                log.warning("llm_model_failed", model=route.model, errors=attempt.errors)
            else:
                self._count(attempts, answered_by=index)
                return completion
        self._count(attempts, answered_by=None)
        raise LlmUnavailable(attempts)

    def _count(self, attempts: list[Attempt], *, answered_by: int | None) -> None:
        """The day's counts for the admin dashboard (`common/features/llm_stats.py`), written in the
        background: each error in `attempts` is a failed request, but a breaker's skip."""
        if self._stats is None:
            return
        failed = sum(e != BREAKER_OPEN for a in attempts for e in a.errors)
        self._stats.record(
            LlmCounts(
                requests=failed + (answered_by is not None),
                failed=failed,
                fallbacks=int(answered_by is not None and answered_by > 0),
                unavailable=int(answered_by is None),
            )
        )

    async def _admit(self, model: str) -> Admission:
        if self._breaker is None:
            return Admission.CLOSED
        return await self._breaker.admit(model)

    async def request(
        self, route: ModelRoute, call: Callable[[openai.AsyncOpenAI], Awaitable[T]]
    ) -> T:
        """One request other than a chat completion (audio) to `route`'s provider, with the
        key, client, retries and breaker chat calls get; `LlmUnavailable` when it fails."""
        attempt = Attempt(route.model)
        admission = await self._admit(route.model)
        if admission is Admission.OPEN:
            attempt.errors.append(BREAKER_OPEN)
            raise LlmUnavailable([attempt])

        async def once() -> T:
            client = await self._client(route)
            async with asyncio.timeout(self._settings.llm_timeout_seconds):
                return await call(client)

        try:
            return await self._with_retries(route, once, attempt, admission)
        except _GiveUpOnModel as exc:
            raise LlmUnavailable([attempt]) from exc

    async def _with_retries(
        self,
        route: ModelRoute,
        once: Callable[[], Awaitable[T]],
        attempt: Attempt,
        admission: Admission,
    ) -> T:
        """A half-open model (`Admission.PROBE`) gets one attempt, no retries."""
        policy = self._retry
        if admission is Admission.PROBE:
            policy = dataclasses.replace(policy, retries=0)

        async def tried() -> T:
            try:
                completion = await once()
            except openai.APIStatusError as exc:
                attempt.errors.append(f"{exc.status_code}: {_error_summary(exc)}")
                if exc.status_code in _REQUEST_FAULT_STATUS:
                    await self._release(route.model, admission)
                    raise _GiveUpOnModel from exc
                if await self._failed(route.model, admission):
                    raise _GiveUpOnModel from exc
                if exc.status_code not in _RETRYABLE_STATUS:
                    raise _GiveUpOnModel from exc
                raise
            except _RETRIED as exc:
                # APIError beyond a status: the connection, or an error event mid-stream.
                attempt.errors.append(f"{type(exc).__name__}: {exc}")
                if await self._failed(route.model, admission):
                    raise _GiveUpOnModel from exc
                raise
            if self._breaker is not None:
                failed_first = bool(attempt.errors)
                await self._breaker.succeeded(route.model, admission, failed_first=failed_first)
            return completion

        def retrying(number: int, delay: float, _ending: object) -> None:
            log.info("llm_retry", model=route.model, attempt=number, delay_s=round(delay, 2))

        try:
            return await policy.run(
                tried,
                retry_exception=lambda exc: isinstance(exc, _RETRIED),
                wait_hint=_asked_wait,
                on_retry=retrying,
            )
        except _RETRIED as exc:
            raise _GiveUpOnModel from exc

    async def _failed(self, model: str, admission: Admission) -> bool:
        """Counts a failed attempt; True when the breaker says stop trying this model."""
        if self._breaker is None:
            return False
        return await self._breaker.failed(model, admission)

    async def _release(self, model: str, admission: Admission) -> None:
        if self._breaker is not None:
            await self._breaker.release(model, admission)

    async def _once(self, route: ModelRoute, request: _Request) -> Completion:
        """One request to the model, a client span of the turn's trace (decision 0069)."""
        with tracing.span(
            f"chat {route.model}",
            kind="client",
            attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": route.model},
        ):
            completion = await self._asked(route, request)
            tracing.annotate(
                {
                    "gen_ai.usage.input_tokens": completion.tokens_in or 0,
                    "gen_ai.usage.output_tokens": completion.tokens_out or 0,
                    "gen_ai.response.tool_calls": len(completion.tool_calls),
                }
            )
            return completion

    async def _asked(self, route: ModelRoute, request: _Request) -> Completion:
        client = await self._client(route)
        body = request.body()
        started = time.perf_counter()
        outcome = "error"
        try:
            if request.on_text is not None:
                streamed = await self._streamed(client, route.model, body, request.on_text)
            else:
                async with asyncio.timeout(self._settings.llm_timeout_seconds):
                    response = await client.chat.completions.create(
                        model=route.model, messages=[], extra_body=body
                    )
            outcome = "ok"
        finally:
            elapsed = time.perf_counter() - started
            LLM_REQUESTS.labels(route.model, outcome).inc()
            LLM_SECONDS.labels(route.model).observe(elapsed)
        if request.on_text is not None:
            return _counted(streamed, int(elapsed * 1000))
        return _completion(response, route.model, int(elapsed * 1000))

    async def _streamed(
        self, client: openai.AsyncOpenAI, model: str, body: dict[str, Any], on_text: TextSink
    ) -> Completion:
        """One streamed request. The timeout bounds the wait for each chunk: a long answer
        that keeps coming is not cut, a stalled one is."""
        timeout = self._settings.llm_timeout_seconds
        started = time.perf_counter()
        parts = StreamAssembler(model)
        loop = asyncio.get_running_loop()
        async with (
            asyncio.timeout(timeout) as deadline,
            client.chat.completions.with_streaming_response.create(
                model=model,
                messages=[],
                extra_body=body,
                stream=True,
                stream_options={"include_usage": True},
            ) as response,
        ):
            try:
                async for chunk in sse_events(response.iter_lines()):
                    deadline.reschedule(loop.time() + timeout)
                    if not parts.add(chunk):
                        continue
                    if parts.first_text_at is None:
                        parts.first_text_at = time.perf_counter()
                        LLM_FIRST_TEXT_SECONDS.labels(model).observe(parts.first_text_at - started)
                    await on_text(parts.text)
            except (httpx2.HTTPError, OSError) as exc:  # the SDK's own client library
                raise BrokenStream(f"{type(exc).__name__}: {exc}") from exc
        return parts.completion()

    async def _client(self, route: ModelRoute) -> openai.AsyncOpenAI:
        key = await self._key(route.provider_id) or "unset"
        client = self._clients.get((route.base_url, key))
        if client is None:
            client = openai.AsyncOpenAI(
                api_key=key,
                base_url=route.base_url,
                max_retries=0,
                timeout=self._settings.llm_timeout_seconds,
                # the SDK's aiohttp transport: a third less CPU per call than its httpx pool
                http_client=openai.DefaultAioHttpClient(),
            )
            self._clients[(route.base_url, key)] = client
        return client

    async def _key(self, provider_id: str | None) -> str | None:
        """Only the provider row's key (stored encrypted, read through rest_service): no
        plaintext key from the environment, which would also go to a keyless provider's URL."""
        if provider_id is None:
            return None
        if provider_id not in self._key_cache:
            self._key_cache[provider_id] = await self._keys(provider_id)
            if self._key_cache[provider_id] is None:  # once per config version
                log.info("llm_provider_without_key", provider_id=provider_id)
        return self._key_cache[provider_id]


@dataclass(frozen=True)
class _Request:
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    tool_choice: str | None
    on_text: TextSink | None

    def body(self) -> dict[str, Any]:
        """Our messages and tools are JSON already: as `extra_body` (which the SDK merges
        over the body) they skip its field-by-field transform, ~10 ms of CPU per request."""
        body: dict[str, Any] = {"messages": self.messages}
        if self.tools:
            body["tools"] = self.tools
            if self.tool_choice:
                body["tool_choice"] = self.tool_choice
        return body


@dataclass
class _CallParts:
    id: str = ""
    name: str = ""
    arguments: str = ""


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The JSON of each server-sent event until `[DONE]`; comments (`: keep-alive`) and
    fields other than `data` are skipped, multi-line data is joined as SSE says."""
    data: list[str] = []
    async for line in lines:
        if line:
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            continue
        if not data:
            continue
        payload, data = "\n".join(data), []
        if payload == "[DONE]":
            return
        try:
            event = json.loads(payload)
        except ValueError as exc:
            raise BrokenStream(f"an event that is not JSON: {payload[:100]!r}") from exc
        if not isinstance(event, dict):
            raise BrokenStream(f"an event that is not an object: {payload[:100]!r}")
        yield event


@dataclass
class StreamAssembler:
    """A streamed completion put together from its chunks (`chat.completion.chunk`)."""

    model: str
    text: str = ""
    calls: dict[int, _CallParts] = field(default_factory=dict)
    finish_reason: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    first_text_at: float | None = None

    def add(self, chunk: dict[str, Any]) -> bool:
        """Takes one chunk in; True when it added text. An error event ends the stream."""
        error = chunk.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else error
            raise BrokenStream(f"an error mid-stream: {str(message)[:300]}")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.tokens_in = _int_or_none(usage.get("prompt_tokens"))
            self.tokens_out = _int_or_none(usage.get("completion_tokens"))
        grew = False
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                grew = self._delta(delta) or grew
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return grew

    def _delta(self, delta: dict[str, Any]) -> bool:
        for piece in delta.get("tool_calls") or ():
            if isinstance(piece, dict):
                self._call_piece(piece)
        content = delta.get("content")
        if isinstance(content, str) and content:
            self.text += content
            return True
        return False

    def _call_piece(self, piece: dict[str, Any]) -> None:
        index = _int_or_none(piece.get("index")) or 0
        call = self.calls.setdefault(index, _CallParts())
        call.id = str(piece.get("id") or call.id)
        function = piece.get("function")
        if isinstance(function, dict):
            call.name += str(function.get("name") or "")
            call.arguments += str(function.get("arguments") or "")

    def completion(self) -> Completion:
        if self.finish_reason is None:
            raise BrokenStream("the stream ended before its finish reason")
        calls = tuple(
            ToolCall(c.id, c.name, c.arguments or "{}")
            for _, c in sorted(self.calls.items())
            if c.name
        )
        return Completion(self.text or None, calls, self.model, self.tokens_in, self.tokens_out, 0)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _counted(completion: Completion, latency_ms: int) -> Completion:
    """A streamed completion with its latency, its tokens counted."""
    _count_tokens(completion.model, completion.tokens_in, completion.tokens_out)
    return dataclasses.replace(completion, latency_ms=latency_ms)


def _count_tokens(model: str, tokens_in: int | None, tokens_out: int | None) -> None:
    if tokens_in is not None:
        LLM_TOKENS.labels(model, "in").inc(tokens_in)
    if tokens_out is not None:
        LLM_TOKENS.labels(model, "out").inc(tokens_out)


def _completion(response: Any, model: str, latency_ms: int) -> Completion:
    if not response.choices:
        raise EmptyCompletion("completion without choices")
    message = response.choices[0].message
    calls = tuple(
        ToolCall(c.id, c.function.name, c.function.arguments or "{}")
        for c in message.tool_calls or ()
        if getattr(c, "function", None) is not None
    )
    usage = response.usage
    tokens_in = usage.prompt_tokens if usage else None
    tokens_out = usage.completion_tokens if usage else None
    _count_tokens(model, tokens_in, tokens_out)
    return Completion(message.content, calls, model, tokens_in, tokens_out, latency_ms)


def _asked_wait(ending: object) -> float | None:
    """A status error's Retry-After: waited instead of the backoff (within the cap)."""
    if not isinstance(ending, openai.APIStatusError):
        return None
    return retry_after(ending.response)


def _error_summary(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
    return json.dumps(body)[:300] if body is not None else str(exc)[:300]
