"""An OpenAI-compatible chat-completions stand-in: `/v1/chat/completions` and `/v1/models`.

Replies are scripted per test (text, tool calls, errors, delays, 429 with `retry-after`);
without a script a rule-based default answers well enough for the demo (the time in a place →
`time` with its IANA zone, weather in X → `weather`, "remind me in 5 minutes to …" →
`reminder`, the calendar → `calendar`, "draw …" → `draw`, otherwise an echo), and puts the
results of those tools in plain words. Like OpenAI it
rejects with 400 a `tool` message that answers no call, and an assistant `tool_calls`
message whose calls are not all answered. Every request is recorded. Audio
(`/v1/audio/transcriptions`, `/v1/audio/speech`) and image content parts: `llm_media.py`;
pictures made (`/v1/images/generations`): `llm_images.py`; vectors by meaning
(`/v1/embeddings`): `llm_embeddings.py`.

Argument styles: `exact` (the default) writes a tool call's arguments as the rule or the
script gave them. `realistic` writes them the way real models do (`model_arguments.py`):
`"Create"` for `create`, `"minutes": "15"`, `null` for optional fields, a field the schema
lacks, ISO times with or without an offset or `Z`, or a phrase in the user's language
("in 6 seconds", "завтра в 9"), trailing whitespace; seeded by the last user message, so a
test sees the same arguments at every run. Scripted arguments given as a JSON string are
sent verbatim in either style. Choose it with `LlmStandIn(argument_style="realistic")`, the
attribute `argument_style`, `POST /control/arguments {"style": "realistic"}`,
`--arguments realistic`, or per request with the header `X-Sandbox-Arguments`.

`stream: true` is answered as OpenAI streams (`stream_chunks`): SSE `data:` events of
`chat.completion.chunk`, tool calls opened with their index and their arguments in pieces, a
usage chunk when `stream_options.include_usage` asks, then `data: [DONE]`. Slow the chunks
after the first text (which comes at once, as an unstreamed reply does) with the attribute
`chunk_delay`, `POST /control/stream {"chunk_delay": 0.05}`, `--chunk-delay` or a step's
`chunk_delay`; a step's `break_after: n` cuts the connection after n chunks.

Standalone: `python -m sandbox.llm_server --port 8090`; the control API is under `/control`
(`POST /control/script`, `POST /control/reset`, `GET /control/requests`,
`POST /control/arguments`). In-process:
`LlmStandIn().start_in_thread()` serves on a free port from a thread of its own, so tests
may block (the harness's `stack.start`) without stalling it; `.base_url` is what
`OPENAI_BASE_URL` takes, `.requests` what it received.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import random
import re
import threading
import time
import uuid
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.llm_embeddings import EmbeddingEndpoints
from sandbox.llm_media import (
    MediaEndpoints,
    MediaRequestError,
    check_content_parts,
    images_in,
    picture_reply,
    prompt_tokens_of,
    text_of,
)
from sandbox.model_arguments import Conversation, realistic, seed_of
from sandbox.server import StandInServer

#: How tool-call arguments are written; see the module docstring.
ARGUMENT_STYLES = ("exact", "realistic")
#: The request header that chooses the style for one request.
STYLE_HEADER = "X-Sandbox-Arguments"

_TIME_WORDS = re.compile(
    r"\b(what time|time is it|current time|the time)\b|который час|сколько времени|время",
    re.IGNORECASE,
)
_TIME_PLACE = re.compile(r"\btime\b.*?\b(?:in|at)\s+(?P<place>[^\W\d][\w .'-]*)", re.IGNORECASE)
_WEATHER = re.compile(
    r"(?:weather|forecast)\s+(?:in|for|at)\s+(?P<en>[^?.!,]+)|погод\w*\s+в\s+(?P<ru>[^?.!,]+)",
    re.IGNORECASE,
)
_REMINDER = re.compile(r"\bremind(?:\s+me)?\b|напомни\w*", re.IGNORECASE)
_WHEN = re.compile(
    r"\b(?:in|через)\s+(?:\d+|an?|one)?\s*(?:sec\w*|min\w*|hours?|days?|weeks?|секунд\w*"
    r"|минут\w*|час\w*|дн\w*|день)"
    r"|\b(?:today|tomorrow|tonight|завтра|сегодня)(?:\s+(?:at|в)\s+\d{1,2}(?::\d{2})?\s*(?:am|pm)?)?"
    r"|\b(?:at|в)\s+\d{1,2}(?::\d{2})?\s*(?:am|pm)?",
    re.IGNORECASE,
)
_DRAW = re.compile(
    r"^\s*(?:please\s+)?(?:draw|paint|sketch)(?:\s+me)?\s+(?P<what>.+)"
    r"|^\s*(?:нарисуй|нарисуйте)(?:\s+мне)?\s+(?P<ru>.+)",
    re.IGNORECASE,
)
_CALENDAR = re.compile(r"\bcalendar\b|\bschedule\b|\bagenda\b|календар\w*", re.IGNORECASE)
_SEARCH = re.compile(
    r"^\s*(?:search(?: the web)? for|look up|найди в интернете|поищи(?: в интернете)?)\s+(?P<q>.+)",
    re.IGNORECASE,
)


class ScriptError(ValueError):
    """A scripted step that cannot be served."""


@dataclass
class ToolCallStep:
    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass
class Step:
    """One scripted reply. `model` / `contains` restrict which requests it answers;
    `times` is how many it answers (None: every one)."""

    text: str | None = None
    tool_calls: list[ToolCallStep] = field(default_factory=list)
    error_status: int | None = None
    error_message: str = "scripted failure"
    retry_after: float | None = None
    delay: float = 0.0
    model: str | None = None
    contains: str | None = None
    times: int | None = 1
    #: Streamed replies (`stream: true`): seconds between chunks, and the chunk after which
    #: the connection is cut without an end (a stream that breaks mid-way).
    chunk_delay: float | None = None
    break_after: int | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Step:
        calls = [
            ToolCallStep(c["name"], c.get("arguments", {}), c.get("id"))
            for c in raw.get("tool_calls", [])
        ]
        error = raw.get("error") or {}
        return cls(
            text=raw.get("text"),
            tool_calls=calls,
            error_status=error.get("status"),
            error_message=error.get("message", "scripted failure"),
            retry_after=error.get("retry_after"),
            delay=float(raw.get("delay", 0.0)),
            model=raw.get("model"),
            contains=raw.get("contains"),
            times=raw.get("times", 1),
            chunk_delay=raw.get("chunk_delay"),
            break_after=raw.get("break_after"),
        )

    def matches(self, model: str, last_text: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.model is not None and self.model != model:
            return False
        return self.contains is None or self.contains in last_text


@dataclass
class RecordedRequest:
    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    tool_choice: Any
    received_at: float
    status: int = 200
    #: The bearer token the client sent (which provider key it used).
    api_key: str | None = None
    #: Asked with `stream: true`.
    stream: bool = False
    #: The token counts the reply reported (None: no completion was made).
    usage: dict[str, int] | None = None

    @property
    def system_text(self) -> str:
        return "\n".join(m.get("content") or "" for m in self.messages if m["role"] == "system")

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.tools or []]

    def last(self, role: str) -> dict[str, Any] | None:
        return next((m for m in reversed(self.messages) if m["role"] == role), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": self.messages,
            "tools": self.tools,
            "tool_choice": self.tool_choice,
            "received_at": self.received_at,
            "status": self.status,
            "api_key": self.api_key,
            "stream": self.stream,
            "usage": self.usage,
        }


class InvalidRequest(Exception):
    """What OpenAI answers 400 `invalid_request_error` to."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class LlmStandIn(StandInServer):
    """The server's state: script, recorded requests, and the aiohttp app around them."""

    thread_name = "llm-stand-in"

    def __init__(
        self,
        *,
        known_models: Iterable[str] | None = None,
        default_delay: float = 0.0,
        record: bool = True,
        argument_style: str = "exact",
    ) -> None:
        self.record = record
        #: "exact" or "realistic": how tool-call arguments are written.
        self.argument_style = _style(argument_style)
        self.known_models = set(known_models) if known_models else None
        #: Seconds the default (unscripted) replies take; random up to this value.
        self.default_delay = default_delay
        #: Seconds between the chunks of a streamed reply (a step's `chunk_delay` wins).
        self.chunk_delay = 0.0
        #: Characters of content per streamed chunk.
        self.chunk_chars = 8
        self.requests: list[RecordedRequest] = []
        self._steps: list[Step] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        #: `/v1/audio/*` (`llm_media.py`): its recorded requests and scripted failures.
        self.media = MediaEndpoints(record=record)
        #: `/v1/embeddings` (`llm_embeddings.py`): vectors by meaning, recorded.
        self.embeddings = EmbeddingEndpoints(record=record)
        super().__init__()

    # -- scripting ---------------------------------------------------------------------------

    def script(self, *steps: Step) -> None:
        """Queue replies; they answer matching requests before the default rules."""
        with self._lock:
            self._steps.extend(steps)

    def reply(self, text: str, **match: Any) -> None:
        self.script(Step(text=text, **match))

    def call(self, name: str, arguments: dict[str, Any] | str, **match: Any) -> None:
        self.script(Step(tool_calls=[ToolCallStep(name, arguments)], **match))

    def fail(self, status: int = 500, **options: Any) -> None:
        self.script(Step(error_status=status, **options))

    def reset(self) -> None:
        with self._lock:
            self._steps.clear()
            self.requests.clear()
        self.media.reset()
        self.embeddings.reset()

    def pending_steps(self) -> int:
        with self._lock:
            return sum(1 for s in self._steps if s.times is None or s.times > 0)

    def _take_step(self, model: str, last_text: str) -> Step | None:
        with self._lock:
            for step in self._steps:
                if step.matches(model, last_text):
                    if step.times is not None:
                        step.times -= 1
                    return step
        return None

    # -- serving -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's root; the control API is under `/control`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as its base URL (`OPENAI_BASE_URL`)."""
        return f"{self.url}/v1"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        self.media.add_routes(app)
        self.embeddings.add_routes(app)
        app.router.add_post("/control/script", self._control_script)
        app.router.add_post("/control/reset", self._control_reset)
        app.router.add_get("/control/requests", self._control_requests)
        app.router.add_post("/control/arguments", self._control_arguments)
        app.router.add_post("/control/stream", self._control_stream)
        app.router.add_get("/health", self._health)
        return app

    # -- handlers ----------------------------------------------------------------------------

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _models(self, _request: web.Request) -> web.Response:
        names = sorted(self.known_models or {"sandbox-default", "sandbox-fallback"})
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "sandbox"} for n in names]
        return web.json_response({"object": "list", "data": data})

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        messages = body.get("messages")
        record = RecordedRequest(
            model=str(body.get("model")),
            messages=messages if isinstance(messages, list) else [],
            tools=body.get("tools"),
            tool_choice=body.get("tool_choice"),
            received_at=time.time(),
            api_key=request.headers.get("Authorization", "").removeprefix("Bearer ") or None,
            stream=body.get("stream") is True,
        )
        if self.record:
            with self._lock:
                self.requests.append(record)
        try:
            _validate(body, self.known_models)
            self.media.check_sees(record.model, record.messages)
        except (InvalidRequest, MediaRequestError) as exc:
            record.status = 404 if "does not exist" in str(exc) else 400
            return _error(record.status, str(exc), exc.param)
        step = self._take_step(record.model, _last_text(record.messages))
        if step is not None and step.delay:
            await asyncio.sleep(step.delay)
        elif step is None and self.default_delay:
            await asyncio.sleep(random.random() * self.default_delay)
        if step is not None and step.error_status:
            record.status = step.error_status
            return _error(step.error_status, step.error_message, retry_after=step.retry_after)
        try:
            style = _style(request.headers.get(STYLE_HEADER) or self.argument_style)
        except ScriptError as exc:
            return _error(400, str(exc))
        write = _writer(record, style)
        reply = _step_reply(step, write) if step else _default_reply(record, write)
        if body.get("stream") is True:
            return await self._stream(request, body, record, reply, step)
        return web.json_response(self._completion(record, reply))

    def _completion(self, record: RecordedRequest, message: dict[str, Any]) -> dict[str, Any]:
        prompt_tokens = sum(prompt_tokens_of(m) for m in record.messages) + 1
        completion_tokens = len(str(message.get("content") or "")) // 4 + 1
        record.usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        return {
            "id": f"chatcmpl-sandbox-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": record.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                }
            ],
            "usage": record.usage,
        }

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        record: RecordedRequest,
        reply: dict[str, Any],
        step: Step | None,
    ) -> web.StreamResponse:
        """The reply as OpenAI streams it: `chat.completion.chunk` events, then `[DONE]`."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        whole = self._completion(record, reply)
        options = body.get("stream_options")
        usage = isinstance(options, dict) and options.get("include_usage") is True
        chunks = stream_chunks(whole, self.chunk_chars, usage=usage)
        delay = step.chunk_delay if step and step.chunk_delay is not None else self.chunk_delay
        for number, chunk in enumerate(chunks):
            if step is not None and step.break_after is not None and number >= step.break_after:
                if request.transport is not None:
                    request.transport.close()  # cut: no final chunk, no [DONE]
                return response
            if number > 1 and delay:  # the first text comes at once, as a reply would
                await asyncio.sleep(delay)
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _control_script(self, request: web.Request) -> web.Response:
        raw = await request.json()
        steps = raw.get("steps", [raw]) if isinstance(raw, dict) else raw
        self.script(*(Step.from_json(s) for s in steps))
        return web.json_response({"queued": len(steps)})

    async def _control_reset(self, _request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def _control_arguments(self, request: web.Request) -> web.Response:
        raw = await request.json()
        try:
            self.argument_style = _style(raw.get("style") if isinstance(raw, dict) else raw)
        except ScriptError as exc:
            return _error(400, str(exc))
        return web.json_response({"style": self.argument_style})

    async def _control_stream(self, request: web.Request) -> web.Response:
        raw = await request.json()
        if not isinstance(raw, dict):
            return _error(400, "expected an object")
        self.chunk_delay = float(raw.get("chunk_delay", self.chunk_delay))
        self.chunk_chars = int(raw.get("chunk_chars", self.chunk_chars))
        return web.json_response({"chunk_delay": self.chunk_delay, "chunk_chars": self.chunk_chars})

    async def _control_requests(self, _request: web.Request) -> web.Response:
        with self._lock:
            recorded = [r.to_json() for r in self.requests]
        return web.json_response(recorded)


def stream_chunks(
    completion: dict[str, Any], chunk_chars: int, *, usage: bool
) -> list[dict[str, Any]]:
    """A completion as the chunks OpenAI streams it in: the role, the content a few characters
    at a time, each tool call opened with its index, id and name and its arguments in pieces,
    the finish reason, and (asked for with `stream_options.include_usage`) the usage last."""
    choice = completion["choices"][0]
    message = choice["message"]
    base = {k: completion[k] for k in ("id", "created", "model")}
    base |= {"object": "chat.completion.chunk", "system_fingerprint": None}
    extra = {"usage": None} if usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        part = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [part], **extra}

    chunks = [chunk({"role": "assistant", "content": ""})]
    content = message.get("content") or ""
    size = max(1, chunk_chars)
    chunks += [chunk({"content": content[i : i + size]}) for i in range(0, len(content), size)]
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call["function"]
        opening = {"index": index, "id": call["id"], "type": "function"}
        opening["function"] = {"name": function["name"], "arguments": ""}
        chunks.append(chunk({"tool_calls": [opening]}))
        arguments = function["arguments"]
        for i in range(0, len(arguments), size):
            piece = {"index": index, "function": {"arguments": arguments[i : i + size]}}
            chunks.append(chunk({"tool_calls": [piece]}))
    chunks.append(chunk({}, choice["finish_reason"]))
    if usage:
        chunks.append({**base, "choices": [], "usage": completion["usage"]})
    return chunks


# -- validation, as OpenAI does it --------------------------------------------------------------


def _validate(body: dict[str, Any], known_models: set[str] | None) -> None:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("you must provide a model parameter", "model")
    if known_models is not None and model not in known_models:
        raise InvalidRequest(f"The model `{model}` does not exist or you do not have access to it.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array", "messages")
    _validate_tools(body.get("tools"))
    _validate_messages(messages)


def _validate_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise InvalidRequest("'tools' must be an array", "tools")
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type") != "function":
            raise InvalidRequest(f"Invalid 'tools[{i}]': expected a function tool", f"tools[{i}]")
        if not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", str(function.get("name", ""))):
            raise InvalidRequest(f"Invalid 'tools[{i}].function.name'", f"tools[{i}].function.name")


def _validate_messages(messages: list[Any]) -> None:
    open_calls: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in {"system", "developer", "user", "assistant", "tool"}:
            raise InvalidRequest(f"Invalid value for 'messages[{i}].role'", f"messages.[{i}].role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_calls:
                raise InvalidRequest(
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    f"messages.[{i}].role",
                )
            open_calls.discard(call_id)
            continue
        if open_calls:
            raise InvalidRequest(
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                f"response messages: {', '.join(sorted(open_calls))}",
                f"messages.[{i}].role",
            )
        if role == "assistant":
            open_calls = {c["id"] for c in message.get("tool_calls") or []}
        elif not isinstance(message.get("content"), str | list):
            raise InvalidRequest(
                f"Invalid type for 'messages[{i}].content'", f"messages.[{i}].content"
            )
        elif isinstance(message["content"], list):
            try:
                check_content_parts(i, role, message["content"])
            except MediaRequestError as exc:
                raise InvalidRequest(str(exc), exc.param) from exc
    if open_calls:
        raise InvalidRequest(
            "An assistant message with 'tool_calls' must be followed by tool messages "
            f"responding to each 'tool_call_id': {', '.join(sorted(open_calls))}",
            "messages",
        )


def _error(
    status: int, message: str, param: str | None = None, *, retry_after: float | None = None
) -> web.Response:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        404: "invalid_request_error",
        429: "rate_limit_exceeded",
    }.get(status, "server_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": None}}
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else None
    return web.json_response(body, status=status, headers=headers)


# -- replies -----------------------------------------------------------------------------------

#: Writes a call's arguments: (tool name, arguments, position in the reply) -> JSON text.
ArgumentWriter = Callable[[str, dict[str, Any], int], str]


def _style(style: Any) -> str:
    if style not in ARGUMENT_STYLES:
        raise ScriptError(f"argument style must be one of {', '.join(ARGUMENT_STYLES)}")
    return str(style)


def _writer(record: RecordedRequest, style: str) -> ArgumentWriter:
    if style == "exact":
        return lambda _name, arguments, _index: json.dumps(arguments, ensure_ascii=False)
    last_text = _last_text(record.messages)
    talk = Conversation.of(record.system_text, last_text)
    schemas = {t["function"]["name"]: t["function"].get("parameters") for t in record.tools or []}
    return lambda name, arguments, index: realistic(
        arguments, schemas.get(name), talk, seed_of(name, str(index), last_text)
    )


def _call_json(
    name: str, arguments: dict[str, Any] | str, call_id: str | None, text: str
) -> dict[str, Any]:
    return {
        "id": call_id or f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {"name": name, "arguments": arguments if isinstance(arguments, str) else text},
    }


def _step_reply(step: Step, write: ArgumentWriter) -> dict[str, Any]:
    if step.tool_calls:
        calls = [
            _call_json(
                c.name,
                c.arguments,
                c.id,
                "" if isinstance(c.arguments, str) else write(c.name, c.arguments, i),
            )
            for i, c in enumerate(step.tool_calls)
        ]
        return {"role": "assistant", "content": step.text, "tool_calls": calls}
    return {"role": "assistant", "content": step.text or ""}


def _last_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str | list):
            return text_of(message["content"])
    return ""


def _default_reply(record: RecordedRequest, write: ArgumentWriter) -> dict[str, Any]:
    """The demo's rules: summarize tool results, else call a tool the text asks for (a
    reminder, the calendar, the weather, the time), else echo."""
    last = record.messages[-1] if record.messages else {}
    if last.get("role") == "tool":
        return {"role": "assistant", "content": _summarize_tool_results(record.messages)}
    text = _last_text(record.messages)
    if last.get("role") == "user" and (images := images_in(last)):
        return {"role": "assistant", "content": picture_reply(images, text)}
    offered = set(record.tool_names) if record.tool_choice != "none" else set()
    call = _tool_call_for(text, offered)
    if call is not None:
        name, arguments = call
        reply = _call_json(name, arguments, None, write(name, arguments, 0))
        return {"role": "assistant", "content": None, "tool_calls": [reply]}
    return {"role": "assistant", "content": f"You said: {text}" if text else "How can I help?"}


def _tool_call_for(text: str, offered: set[str]) -> tuple[str, dict[str, Any]] | None:
    """The tool (and its arguments) a person asking `text` wants, among those offered."""
    if "reminder" in offered and _REMINDER.search(text) and (when := _WHEN.search(text)):
        return "reminder", {
            "action": "create",
            "when": when.group(0).strip(),
            "text": _what(text, when),
        }
    if "web_search" in offered and (search := _SEARCH.search(text)):
        return "web_search", {"query": search.group("q").strip(" ?.!")}
    if "draw" in offered and (draw := _DRAW.search(text)):
        return "draw", {"prompt": (draw.group("what") or draw.group("ru")).strip(" ?.!")}
    if "calendar" in offered and _CALENDAR.search(text):
        return "calendar", {"action": "list"}
    weather = _WEATHER.search(text)
    if "weather" in offered and weather:
        return "weather", {"location": (weather.group("en") or weather.group("ru")).strip()}
    if "time" in offered and _TIME_WORDS.search(text):
        place = _TIME_PLACE.search(text)
        found = _timezone_of(place.group("place")) if place else None
        return "time", {"action": "now", **({"timezone": found} if found else {})}
    return None


def _what(text: str, when: re.Match[str]) -> str:
    """What to remind about: the text without "remind me", the time and the glue words."""
    rest = text[: when.start()] + " " + text[when.end() :]
    rest = _REMINDER.sub(" ", rest)
    rest = rest.strip(" :;,.!?-–—")
    rest = re.sub(r"^(?:to|about|that|of|please|о|об|что)\b", " ", rest, flags=re.IGNORECASE)
    return rest.strip(" :;,.!?-–—") or text.strip()


@functools.cache
def _zones_by_city() -> dict[str, str]:
    """'tokyo' -> 'Asia/Tokyo', 'new york' -> 'America/New_York' (what a model knows)."""
    found: dict[str, str] = {}
    for name in sorted(zoneinfo.available_timezones()):
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/")):
            found.setdefault(name.rsplit("/", 1)[1].replace("_", " ").lower(), name)
    return found


def _timezone_of(place: str) -> str | None:
    words = re.sub(r"[^\w ]", " ", place).lower().split()
    zones = _zones_by_city()
    for size in range(len(words), 0, -1):  # "new york right now" -> "new york"
        if (name := " ".join(words[:size])) in zones:
            return zones[name]
    return None


def _summarize_tool_results(messages: list[dict[str, Any]]) -> str:
    """Tool results the demo knows read as a person would put them; others as they came."""
    results: list[str] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.append(str(message.get("content")))
    readable = [_readable(r) for r in reversed(results)]
    if all(readable):
        return "\n\n".join(r for r in readable if r)
    return "Here is what I found: " + " | ".join(reversed(results))


def _readable(content: str) -> str | None:
    try:
        result = json.loads(content)
    except ValueError:
        return None
    if isinstance(result, dict) and isinstance(result.get("outside_content"), dict):
        result = result["outside_content"]  # what a page or a search gave, marked as data
    if not isinstance(result, dict):
        return None
    for keys, render in _RENDERERS:
        if keys <= result.keys():
            return render(result)
    return None


def _time_text(r: dict[str, Any]) -> str:
    return (
        f"It is **{r['time']}** on {r['weekday']}, {r['date']} in {r['timezone']} "
        f"(UTC{r.get('utc_offset', '')})."
    )


def _weather_text(r: dict[str, Any]) -> str:
    now = r.get("current") or {}
    lines = [
        f"Weather in **{r['place']}**: {now.get('conditions') or 'n/a'}, "
        f"{now.get('temperature_c')}°C (feels like {now.get('feels_like_c')}°C), "
        f"wind {now.get('wind_kmh')} km/h."
    ]
    for day in (r.get("daily") or [])[:2]:
        lines.append(
            f"• {day['date']}: {day.get('conditions') or 'n/a'}, "
            f"{day.get('min_c')}–{day.get('max_c')}°C"
        )
    return "\n".join(lines)


def _reminder_text(r: dict[str, Any]) -> str:
    note = " I assumed your timezone: /timezone sets it." if r.get("timezone_note") else ""
    return f"Done. {r['confirmation']}.{note}"


def _calendar_text(r: dict[str, Any]) -> str:
    if r.get("connect_url"):
        return f"Your Google Calendar is not connected yet. Connect it here: {r['connect_url']}"
    if r.get("status") == "private_chat_required":
        return str(r.get("message"))
    if not r.get("events"):
        return "Nothing on your calendar in that time."
    lines = [f"On your calendar ({r.get('count', len(r['events']))}):"]
    lines += [f"• {e['start'][:16].replace('T', ' ')}: {e['summary']}" for e in r["events"]]
    return "\n".join(lines)


def _error_text(r: dict[str, Any]) -> str:
    return f"Sorry, that did not work: {r['error']}"


def _search_text(r: dict[str, Any]) -> str:
    """Search results as a model cites them: each a Markdown link with its snippet."""
    found = [x for x in r["results"] if isinstance(x, dict)]
    if not found:
        return "Nothing was found."
    return "\n".join(f"- [{x['title']}]({x['url']}): {x['snippet']}" for x in found)


def _knowledge_text(r: dict[str, Any]) -> str:
    """Articles found as a consultant answers from them: the first one's passage, cited by
    its title; none found, an honest "I don't know" and a person offered."""
    found = [x for x in r["articles"] if isinstance(x, dict)]
    if not found:
        return "I don't know that, sorry. Shall I connect you with a person?"
    best = found[0]
    return f"{str(best['excerpt']).replace('**', '')}\n\nSource: {best['title']}"


def _page_text(r: dict[str, Any]) -> str:
    """A page read: its first lines, then the page cited."""
    excerpt = " ".join(str(r["text"]).splitlines()[:3])[:400]
    return f"{excerpt}\n\n[{r.get('title') or r['url']}]({r['url']})"


_RENDERERS: list[tuple[set[str], Callable[[dict[str, Any]], str]]] = [
    ({"datetime", "time", "weekday", "timezone"}, _time_text),
    ({"place", "current"}, _weather_text),
    ({"confirmation"}, _reminder_text),
    ({"connect_url"}, _calendar_text),
    ({"status", "message"}, _calendar_text),
    ({"events", "count"}, _calendar_text),
    ({"query", "results"}, _search_text),
    ({"query", "articles"}, _knowledge_text),
    ({"url", "text"}, _page_text),
    ({"drawn"}, lambda _r: "Here is your picture."),
    ({"error"}, _error_text),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--models", default="", help="comma-separated; empty: accept any")
    parser.add_argument("--no-record", action="store_true", help="keep no request log")
    parser.add_argument("--arguments", choices=ARGUMENT_STYLES, default="exact")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m] or None
    stand_in = LlmStandIn(
        known_models=models, record=not args.no_record, argument_style=args.arguments
    )
    stand_in.chunk_delay = args.chunk_delay
    web.run_app(stand_in.app(), host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
