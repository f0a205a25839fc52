"""An assistant on chat completions with its history in rest_service (threads emulated from
`chat_messages`, so `assistant_type = openai_api` runs the same way).

One turn: the thread's window, the system messages, the user's message; then the model and
its tool calls in rounds, up to MAX_TOOL_ITERATIONS, then one answer without tools. The turn
is stored at the end in one batch whose `dedup_key`s derive from the message id, so a
redelivery never doubles the history and finds a stored answer instead of asking again.

With `drafts` set (the secretary answering a Telegram user, `assistant/src/drafts.py`) every
completion is streamed: its text goes out as drafts while it grows, and a status line while
tools run. What is stored and returned is the same either way: only whole completions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from assistant.src.assistants import memory
from assistant.src.assistants.base import BaseAssistant, Turn, TurnResult, TurnTokens
from assistant.src.assistants.phrases import CATALOGUE, status_line
from assistant.src.assistants.prompt import private_facts, system_prompt
from assistant.src.clients.llm import (
    Completion,
    LlmGateway,
    LlmUnavailable,
    ModelRoute,
    ToolCall,
)
from assistant.src.drafts import DraftPublisher
from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolCallOrigin
from assistant.src.tools.toolbox import Toolbox, ToolOutcome
from common.features.feedback import answer_key
from common.features.limits import LIMIT_REFUSALS, TokenBudget, seconds_until_reset
from common.infrastructure.clock import utcnow
from common.infrastructure.logging import get_logger
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import (
    MessageIn,
    MessageRole,
    SearchHit,
    SnapshotAssistant,
    Thread,
    TurnBackground,
)

log = get_logger(__name__)

BUDGET_SPENT = (
    "You have used every round of tool calls allowed for one message. Do not call tools now: "
    "answer the user with what you have, and say plainly what you could not finish."
)


#: rest_service's limits on one message's content and on one batch.
MAX_STORED_CONTENT = 100_000
MAX_BATCH = 100


@dataclass(frozen=True)
class AssistantDeps:
    settings: Settings
    rest: RestClient
    llm: LlmGateway
    #: Tokens per user per day; None: not counted (in-process tests).
    budget: TokenBudget | None = None


@dataclass
class _Exchange:
    """The messages of one turn: as sent to the model, and as they will be stored."""

    messages: list[dict[str, Any]]
    records: list[MessageIn]
    turn: Turn

    def add(self, message: dict[str, Any], record: MessageIn, key: str | None = None) -> None:
        """`key`: the record's dedup key, by default its place in the turn."""
        self.messages.append(message)
        key = key or f"{self.turn.key}:{len(self.records)}"
        self.records.append(record.model_copy(update={"dedup_key": key}))


class LlmChatAssistant(BaseAssistant):
    def __init__(
        self,
        spec: SnapshotAssistant,
        deps: AssistantDeps,
        toolbox: Toolbox,
        routes: list[ModelRoute],
    ) -> None:
        self.spec = spec
        self.deps = deps
        self.toolbox = toolbox
        self.routes = routes
        #: Long-term memory found with this turn's context (the secretary's).
        self.memory_hits: list[SearchHit] = []
        #: The speaker's profile facts for the prompt; always empty in a group.
        self.facts: list[str] = []
        #: Where the answer is shown as it grows; None: not streamed.
        self.drafts: DraftPublisher | None = None
        #: Called with the thread and the stored records after a turn (recall by meaning).
        self.stored: Callable[[str, list[MessageIn]], None] | None = None
        #: The live experiment's arm this assistant answers in (its answers are marked).
        self.experiment_variant_id: UUID | None = None
        #: Where its calls' tokens add up: the turn's, shared with its sub-assistants.
        self.tokens = TurnTokens()

    @property
    def settings(self) -> Settings:
        return self.deps.settings

    async def answer(self, turn: Turn, prefetched: TurnBackground | None = None) -> TurnResult:
        """`prefetched`: this turn's context when the caller fetched it already."""
        start = prefetched or await fetch_context(
            self.deps, self.spec.id, turn.actor.conversation_key, self.memory_query(turn.text)
        )
        thread = start.thread
        assert thread is not None  # only a blocked profile has none, and it is not answered
        settings = self.settings
        history = memory.window(
            start.recent, settings.max_context_messages, settings.max_context_length
        )
        self.memory_hits = start.memory
        self.facts = private_facts(turn.actor, start)
        stored = _stored_answer(history, turn)
        if stored is not None:
            log.info("turn_replayed", assistant=self.spec.name)
            return TurnResult(stored.content or "", stored.model, replayed=True)
        if await self._budget_spent(turn):
            return TurnResult(_budget_refusal(turn.actor.language))
        history = _without_turn(history, turn)
        summary = memory.summary_message(start.summary)
        exchange = _Exchange(
            messages=[
                *await self.system_messages(turn, history),
                *([summary] if summary is not None else []),
                *(memory.to_openai(m, group=turn.actor.is_group) for m in history),
            ],
            records=[],
            turn=turn,
        )
        exchange.add(self._user_message(turn), self._user_record(turn))
        try:
            text, model = await self._rounds(exchange)
        except LlmUnavailable as exc:
            log.error("llm_unavailable", assistant=self.spec.name, error=str(exc))
            await self._store(thread, exchange.records)
            return TurnResult(None)
        await self._store(thread, exchange.records)
        return TurnResult(text, model, tools_ran=any(r.tool_calls for r in exchange.records))

    def memory_query(self, text: str) -> str | None:
        """What to search long-term memory for (None: this assistant has none)."""
        return None

    async def system_messages(
        self, turn: Turn, history: list[memory.StoredMessage]
    ) -> list[dict[str, Any]]:
        now = utcnow().astimezone(ZoneInfo(turn.actor.timezone))
        prompt = system_prompt(
            self.spec.instructions,
            turn.actor,
            now,
            group_authors=self.user_author(turn) is not None,
            facts=self.facts,
        )
        return [{"role": "system", "content": prompt}]

    def user_author(self, turn: Turn) -> str | None:
        return turn.actor.label

    # -- the model and its tools -------------------------------------------------------------

    async def _rounds(self, exchange: _Exchange) -> tuple[str, str]:
        tools = self.toolbox.definitions() or None
        calls_made = 0
        for _ in range(self.settings.max_tool_iterations):
            completion = await self._complete(exchange, exchange.messages, tools)
            if not completion.tool_calls:
                return self._final(exchange, completion), completion.model
            outcomes = await self._run_tools(exchange, completion, calls_made)
            calls_made += len(outcomes)
        return await self._out_of_rounds(exchange, tools)

    async def _run_tools(
        self, exchange: _Exchange, completion: Completion, first_position: int
    ) -> list[ToolOutcome]:
        calls = [c.to_openai() for c in completion.tool_calls]
        message = {"role": "assistant", "content": completion.content, "tool_calls": calls}
        exchange.add(
            message,
            _assistant_record(completion, calls, exchange.turn.actor, self.experiment_variant_id),
        )
        turn = exchange.turn
        if self.drafts is not None:
            kinds = {tool.name: tool.tool_type for tool in self.spec.tools}
            types = [kinds.get(call.name) for call in completion.tool_calls]
            await self.drafts.status(status_line(types, turn.actor.language))
        contexts = [
            ToolCallOrigin(
                actor=turn.actor,
                message_id=turn.message_id,
                assistant_id=self.spec.id,
                position=turn.call_position(first_position + i),
                depth=turn.depth,
            )
            for i in range(len(completion.tool_calls))
        ]
        allowed = max(0, self.settings.max_tool_calls_per_turn - first_position)
        outcomes = await self.toolbox.run_all(completion.tool_calls[:allowed], contexts[:allowed])
        outcomes += [_over_cap(call, self.settings) for call in completion.tool_calls[allowed:]]
        for outcome in outcomes:
            shown = self.toolbox.for_model(outcome)
            exchange.add(shown.to_openai(), _tool_record(shown))
        return outcomes

    async def _complete(
        self,
        exchange: _Exchange,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        **options: Any,
    ) -> Completion:
        """One LLM call, its reported tokens counted for the answer's usage (a completion
        reused on a redelivery too: the answer is made of it) and, once, against the user's
        daily budget."""
        on_text = self.drafts.text if self.drafts is not None else None
        completion = await self.deps.llm.complete(
            self.routes, messages, tools, on_text=on_text, **options
        )
        self.tokens.add(completion.tokens_in, completion.tokens_out)
        if self.deps.budget is not None and not completion.reused:
            used = (completion.tokens_in or 0) + (completion.tokens_out or 0)
            await self.deps.budget.add(exchange.turn.actor.user_id, used)
        return completion

    async def _budget_spent(self, turn: Turn) -> bool:
        budget = self.deps.budget
        if budget is None or not await budget.spent(turn.actor.user_id):
            return False
        log.info("token_budget_spent", assistant=self.spec.name, budget=budget.daily)
        LIMIT_REFUSALS.labels("daily_tokens").inc()
        return True

    async def _out_of_rounds(
        self, exchange: _Exchange, tools: list[dict[str, Any]] | None
    ) -> tuple[str, str]:
        """The tool budget is spent: one more answer, tools off; an honest one if none."""
        log.warning("tool_rounds_exhausted", assistant=self.spec.name)
        messages = [*exchange.messages, {"role": "system", "content": BUDGET_SPENT}]
        completion = await self._complete(exchange, messages, tools, tool_choice="none")
        if completion.tool_calls or not (completion.content or "").strip():
            completion = Completion(
                CATALOGUE.text(exchange.turn.actor.language, "out_of_steps"),
                (),
                completion.model,
                completion.tokens_in,
                completion.tokens_out,
                completion.latency_ms,
            )
        return self._final(exchange, completion), completion.model

    def _final(self, exchange: _Exchange, completion: Completion) -> str:
        text = (completion.content or "").strip() or CATALOGUE.text(
            exchange.turn.actor.language, "out_of_steps"
        )
        record = _assistant_record(
            completion, None, exchange.turn.actor, self.experiment_variant_id
        ).model_copy(update={"content": text})
        answer = {"role": "assistant", "content": text}
        exchange.add(answer, record, key=answer_key(exchange.turn.key))
        return text

    # -- history -----------------------------------------------------------------------------

    async def _store(self, thread: Thread, records: list[MessageIn]) -> None:
        """In one batch (one transaction) unless the turn is longer than a batch may be."""
        records = [_bounded(record) for record in records]
        for start in range(0, len(records), MAX_BATCH):
            await self.deps.rest.store_messages(
                thread.thread_id, records[start : start + MAX_BATCH]
            )
        if self.stored is not None:
            self.stored(thread.thread_id, records)

    def _user_message(self, turn: Turn) -> dict[str, Any]:
        author = self.user_author(turn)
        said = f"{author}: " if turn.actor.is_group and author else ""
        if turn.parts is not None:
            parts = [
                {**p, "text": said + p["text"]} if p.get("type") == "text" else p
                for p in turn.parts
            ]
            return {"role": "user", "content": parts}
        return {"role": "user", "content": f"{said}{turn.text}"}

    def _user_record(self, turn: Turn) -> MessageIn:
        author = self.user_author(turn)
        stored_user_id = turn.actor.stored_user_id if author else None
        return MessageIn(
            role=MessageRole.user,
            content=turn.text,
            author=author,
            user_id=UUID(stored_user_id) if stored_user_id else None,
        )


async def fetch_context(
    deps: AssistantDeps,
    assistant_id: UUID,
    conversation_key: str,
    memory_query: str | None,
    *,
    profile_id: str | None = None,
    facts: bool = False,
    memory_vector: tuple[str, list[float]] | None = None,
) -> TurnBackground:
    """The thread, the recent window (one bounded query; the same limits and whole
    exchanges are enforced again here), memory hits and the sender's profile: one request."""
    settings = deps.settings
    return await deps.rest.turn_context(
        conversation_key,
        assistant_id,
        profile_id=profile_id,
        limit=settings.max_context_messages,
        max_chars=settings.max_context_length,
        memory_query=memory_query,
        memory_limit=max(1, settings.max_long_term_results),
        facts=facts,
        memory_vector=memory_vector,
    )


def _stored_answer(history: list[memory.StoredMessage], turn: Turn) -> memory.StoredMessage | None:
    key = answer_key(turn.key)
    return next((m for m in reversed(history) if m.dedup_key == key), None)


def _without_turn(history: list[memory.StoredMessage], turn: Turn) -> list[memory.StoredMessage]:
    """What an interrupted earlier try of this turn stored is not context for it."""
    prefix = f"{turn.key}:"
    kept = [m for m in history if not (m.dedup_key or "").startswith(prefix)]
    return kept if len(kept) == len(history) else memory.whole_tool_exchanges(kept)


def _budget_refusal(language: str | None) -> str:
    hours, seconds = divmod(seconds_until_reset(), 3600)
    return CATALOGUE.text(language, "token_budget_spent", hours=hours, minutes=seconds // 60)


def _over_cap(call: ToolCall, settings: Settings) -> ToolOutcome:
    """A call past MAX_TOOL_CALLS_PER_TURN: not run; the model reads why and answers."""
    LIMIT_REFUSALS.labels("tool_calls_per_turn").inc()
    log.warning("tool_call_over_cap", tool=call.name[:64], cap=settings.max_tool_calls_per_turn)
    error = (
        f"not run: at most {settings.max_tool_calls_per_turn} tool calls are allowed for one "
        "message. Do not retry; tell the user what was done and what was not."
    )
    content = json.dumps({"error": error})
    return ToolOutcome(call, content, False, error, 0)


def _bounded(record: MessageIn) -> MessageIn:
    """A content longer than rest_service stores is cut, not refused."""
    if record.content and len(record.content) > MAX_STORED_CONTENT:
        return record.model_copy(update={"content": record.content[: MAX_STORED_CONTENT - 1] + "…"})
    return record


def _assistant_record(
    completion: Completion,
    calls: list[dict[str, Any]] | None,
    actor: Actor,
    variant_id: UUID | None,
) -> MessageIn:
    """`user_id`: whom the answer was for, so a group's tokens count in that user's /usage."""
    stored_user_id = actor.stored_user_id
    return MessageIn(
        role=MessageRole.assistant,
        user_id=UUID(stored_user_id) if stored_user_id else None,
        content=completion.content,
        tool_calls=calls,
        model=completion.model,
        tokens_in=completion.tokens_in,
        tokens_out=completion.tokens_out,
        latency_ms=completion.latency_ms,
        experiment_variant_id=variant_id,
    )


def _tool_record(outcome: ToolOutcome) -> MessageIn:
    return MessageIn(
        role=MessageRole.tool,
        content=outcome.content,
        tool_call_id=outcome.call.id,
        name=outcome.call.name,
        latency_ms=outcome.duration_ms,
    )
