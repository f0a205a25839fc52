"""The conversations page's list (recent threads, or those whose messages contain a text) and
its viewer's tool cards (each call with its arguments, result and duration)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from rest_service.app.admin.display_names import names_of
from rest_service.app.models.thread import ChatMessage

RECENT = 50
#: The model's Markdown as HTML, as Telegram shows it formatted: raw HTML in a reply is text
#: (never obeyed), and markdown-it refuses javascript: and data: links by itself.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["strikethrough", "table"])
SNIPPET_CHARS = 160


@dataclass(frozen=True)
class Conversation:
    thread_id: str
    conversation_key: str
    #: The private chat's user (None for a group).
    user_id: uuid.UUID | None
    who: str
    last_role: str
    last_text: str
    when: datetime


class MessageItem(TypedDict):
    message: ChatMessage
    #: Its tool calls as indented JSON (None when it made none).
    tool_calls: str | None


class ToolCard(TypedDict):
    """A tool call with the result of the tool message that answers it."""

    id: str
    name: str
    arguments: str
    result: str | None
    duration_ms: int | None


class ShownMessage(MessageItem):
    cards: list[ToolCard]
    #: An assistant's text as HTML.
    answer: Markup | None
    #: A tool message whose result a card shows.
    in_card: bool


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def recent(session: AsyncSession, text: str = "") -> list[Conversation]:
    """The newest threads, each with its last message — or, with `text`, its newest message
    containing it (case-insensitive)."""
    newest = select(func.max(col(ChatMessage.id))).group_by(col(ChatMessage.thread_id))
    if text:
        newest = newest.where(col(ChatMessage.content).ilike(_like(text), escape="\\"))
    rows = (
        await session.scalars(
            select(ChatMessage)
            .where(col(ChatMessage.id).in_(newest.scalar_subquery()))
            .order_by(col(ChatMessage.id).desc())
            .limit(RECENT)
        )
    ).all()
    keys = {m.conversation_key: _private(m.conversation_key) for m in rows}
    names = await names_of(session, "user", (user for user, _bot in keys.values()))
    bots = await names_of(session, "bot", (bot for _user, bot in keys.values()))
    found = []
    for m in rows:
        user_id, bot_id = keys[m.conversation_key]
        who = names.get(user_id, str(user_id)) if user_id else f"group {m.conversation_key}"
        if user_id and bot_id:
            who = f"{who} · {bots.get(bot_id, str(bot_id))}"
        snippet = (m.content or _tool_names(m.tool_calls) or "").strip()
        found.append(
            Conversation(
                thread_id=m.thread_id,
                conversation_key=m.conversation_key,
                user_id=user_id,
                who=who,
                last_role=str(m.role),
                last_text=snippet,
                when=m.created_at,
            )
        )
    return found


def _tool_names(calls: Any) -> str:
    names = [str((c.get("function") or {}).get("name", "?")) for c in calls or []]
    return f"(calls {', '.join(names)})" if names else ""


def _private(key: str) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """A conversation key's private user (None: a group) and bots row (None: the default
    bot): `<user id>`, `bot:<bot id>:<user id>`, `chat:<id>`, `bot:<bot id>:chat:<id>`, each
    also with a named assistant's `assistant:<name>:` before the user or chat."""
    bot_id = None
    if key.startswith("bot:"):
        _prefix, bot, key = [*key.split(":", 2), "", ""][:3]
        bot_id = _uuid(bot)
    if key.startswith("assistant:"):  # a name may hold ':'; a group's chat is never a uuid
        return _uuid(key.rpartition(":")[2]), bot_id
    return _uuid(key), bot_id


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _pretty(value: object) -> str:
    """JSON text or a value, indented; anything else as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)
    return json.dumps(value, ensure_ascii=False, indent=2)


def with_tool_cards(items: list[MessageItem]) -> list[ShownMessage]:
    """Each message with `cards` for the tool calls it made (name, arguments, the result from
    the matching tool message, its duration); tool messages shown in a card are marked."""
    results: dict[object, ChatMessage] = {
        item["message"].tool_call_id: item["message"]
        for item in items
        if item["message"].tool_call_id
    }
    shown: set[str] = set()
    out: list[ShownMessage] = []
    for item in items:
        cards: list[ToolCard] = []
        for call in item["message"].tool_calls or []:
            function = call.get("function") or {}
            result = results.get(call.get("id"))
            if result is not None and result.tool_call_id:
                shown.add(result.tool_call_id)
            cards.append(
                {
                    "id": call.get("id", ""),
                    "name": function.get("name", "?"),
                    "arguments": _pretty(function.get("arguments", "")),
                    "result": _pretty(result.content) if result and result.content else None,
                    "duration_ms": result.latency_ms if result else None,
                }
            )
        message = item["message"]
        answer = None
        if str(message.role) == "assistant" and message.content:
            answer = Markup(_MARKDOWN.render(message.content))
        out.append({**item, "cards": cards, "answer": answer, "in_card": False})
    for item in out:
        item["in_card"] = item["message"].tool_call_id in shown
    return out
