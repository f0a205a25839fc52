"""The tools of one assistant on one config, and how a call of the model is run: arguments
parsed, fitted to the schema (`arguments.py`) and validated, a timeout, errors turned into
results the model reads, the calls of one turn run concurrently, a `tool_invocations` row
per call. What a tool that reads outside content returns goes to the model marked as data;
after it, calls that store or remove something wait for the user's Yes (`outside.py`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from prometheus_client import Counter, Histogram

from assistant.src.clients.llm import ToolCall
from assistant.src.tools.arguments import fit, parse
from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError
from assistant.src.tools.outside import OutsideContent, as_data, hold
from common.infrastructure import tracing
from common.infrastructure.errors import AppError
from common.infrastructure.logging import get_logger
from common.infrastructure.rest_client import RestClient, RestServiceUnavailable

log = get_logger(__name__)

TOOL_CALLS = Counter(
    "smart_assistant_tool_calls_total", "Tool calls, by tool and outcome", ["tool", "outcome"]
)
TOOL_SECONDS = Histogram(
    "smart_assistant_tool_call_seconds",
    "Tool call duration",
    ["tool"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 120),
)
#: The one label of every name the model invents: labels come from the config, never from
#: the model, so `/metrics` cannot grow a series per made-up name.
UNKNOWN_TOOL = "unknown"


@dataclass(frozen=True)
class ToolOutcome:
    call: ToolCall
    content: str
    ok: bool
    error: str | None
    duration_ms: int

    def to_openai(self) -> dict[str, Any]:
        return {"role": "tool", "tool_call_id": self.call.id, "content": self.content}


class Toolbox:
    def __init__(
        self, tools: Iterable[BaseTool], rest: RestClient, outside: OutsideContent | None = None
    ) -> None:
        self._tools = {tool.name: tool for tool in tools}
        self._rest = rest
        #: The message's turn so far (shared with its sub-assistants); None: nothing is held.
        self._outside = outside

    def __len__(self) -> int:
        return len(self._tools)

    def definitions(self) -> list[dict[str, Any]]:
        return [tool.definition() for tool in self._tools.values()]

    async def run_all(
        self, calls: Sequence[ToolCall], contexts: Sequence[ToolCallOrigin]
    ) -> list[ToolOutcome]:
        """The calls of one round are independent: run them at once, results in call order.
        Whether writes are held is decided before the round: the model made these calls
        before it read what this round brings in."""
        outside = self._outside
        held = outside is not None and outside.taken
        outcomes = await asyncio.gather(
            *(self.run(c, x, hold_writes=held) for c, x in zip(calls, contexts, strict=True))
        )
        if outside is not None and any(self.outside_source(c) for c in calls):
            outside.taken = True
        return list(outcomes)

    def outside_source(self, call: ToolCall) -> str | None:
        """The tool type of a call whose result comes from outside, else None."""
        tool = self._tools.get(call.name)
        return tool.tool_type if tool is not None and tool.reads_outside_content else None

    def for_model(self, outcome: ToolOutcome) -> ToolOutcome:
        """The outcome as the model reads it (and the history keeps it): a result from
        outside marked as data."""
        source = self.outside_source(outcome.call)
        if source is None:
            return outcome
        return replace(outcome, content=as_data(source, outcome.content))

    async def run(
        self, call: ToolCall, context: ToolCallOrigin, *, hold_writes: bool = False
    ) -> ToolOutcome:
        """`hold_writes`: a call that stores or removes something is held for the user's Yes
        instead of run."""
        started = time.perf_counter()
        tool = self._tools.get(call.name)
        label = call.name if tool is not None else UNKNOWN_TOOL
        with tracing.span(f"execute_tool {label}", attributes={"gen_ai.tool.name": label}):
            outcome = await self._outcome(tool, call, context, hold_writes, started)
            tracing.annotate({"tool.ok": outcome.ok})
        TOOL_CALLS.labels(label, "ok" if outcome.ok else "error").inc()
        TOOL_SECONDS.labels(label).observe(outcome.duration_ms / 1000)
        await self._record(tool, outcome, context)
        return outcome

    async def _outcome(
        self,
        tool: BaseTool | None,
        call: ToolCall,
        context: ToolCallOrigin,
        hold_writes: bool,
        started: float,
    ) -> ToolOutcome:
        """The call's result or its error, as the model is told it."""
        try:
            result = await self._execute(tool, call, context, hold_writes)
            outcome = _ok(call, result, started)
        except ToolError as exc:
            outcome = _failed(call, str(exc), started)
        except TimeoutError:
            timeout = tool.timeout if tool else 0
            outcome = _failed(call, f"the tool did not answer within {timeout:g} s", started)
        except (RestServiceUnavailable, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("tool_crashed", tool=call.name)
            outcome = _failed(call, f"internal error in the tool ({type(exc).__name__})", started)
        return outcome

    @staticmethod
    async def _execute(
        tool: BaseTool | None, call: ToolCall, context: ToolCallOrigin, hold_writes: bool
    ) -> Any:
        if tool is None:
            raise ToolError(f"there is no tool named {call.name!r}")
        arguments = fit(parse(call.arguments), tool.spec.input_schema)
        tool.validate(arguments.values)
        values = arguments.values
        if hold_writes and isinstance(values, dict) and _writes(tool, values):
            return await hold(tool, values, context)
        async with asyncio.timeout(tool.timeout):
            result = await tool.run(arguments.values, context)
        if arguments.ignored and isinstance(result, dict):
            return {**result, "ignored_arguments": list(arguments.ignored)}
        return result

    async def _record(
        self, tool: BaseTool | None, outcome: ToolOutcome, context: ToolCallOrigin
    ) -> None:
        try:
            await self._rest.append_tool_invocation(
                outcome.call.name[:64],
                ok=outcome.ok,
                duration_ms=outcome.duration_ms,
                tool_id=tool.spec.id if tool else None,
                assistant_id=context.assistant_id,
                user_id=context.actor.stored_user_id,
                message_id=context.message_id,
                error=outcome.error[:10_000] if outcome.error else None,
            )
        except RestServiceUnavailable:
            raise
        except AppError as exc:
            log.warning("tool_invocation_not_recorded", tool=outcome.call.name, error=str(exc))


def _writes(tool: BaseTool, arguments: dict[str, Any]) -> bool:
    return tool.stores_or_removes(arguments) and not tool.asks_first(arguments)


def _elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _ok(call: ToolCall, result: Any, started: float) -> ToolOutcome:
    content = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
    return ToolOutcome(call, content, True, None, _elapsed_ms(started))


def _failed(call: ToolCall, error: str, started: float) -> ToolOutcome:
    content = json.dumps({"error": error}, ensure_ascii=False)
    return ToolOutcome(call, content, False, error, _elapsed_ms(started))
