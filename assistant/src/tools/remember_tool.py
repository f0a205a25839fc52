"""`remember`: profile facts the user states about themselves ("my wife is Anna", "I don't
eat meat"), kept in rest_service and shown in every prompt of their private chat. Facts are
the speaker's own and private: in a group the tool refuses, so nothing said there is stored
and nothing stored is read out there. Delete by `fact_id`, or by the fact's words ("forget
that I don't eat meat") when they match exactly one fact.

`propose` is the secretary's own idea: the user stated something lasting without asking to
keep it, so it asks first ("Remember that: I'm vegetarian?" with Yes / No). The proposal is a
held `add` (`tools/outside.py`): Yes stores it once; No stores nothing and the same fact is
not proposed again soon (`common/features/confirmations.py`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError
from assistant.src.tools.outside import keep
from common.features.confirmations import fact_declined
from common.infrastructure.errors import ConflictError, ValidationFailedError
from common.infrastructure.wire import (
    PROFILE_FACT_MAX_CHARS,
    PROFILE_FACTS_MAX,
    ProfileFact,
    fact_key,
)

PROPOSED_MESSAGE = (
    "Not stored yet: Yes / No buttons asking the user whether to remember this go under your "
    "answer. Answer their message as usual and, at most, say in a few words that you can "
    "remember it; do not say it was stored."
)
DECLINED_NOTE = "the user said No to remembering this lately: do not propose it again"

GROUP_REFUSAL = (
    "profile facts are private: they are neither stored nor shown in a group chat; tell the "
    "user to say it to you in a private chat"
)


class RememberTool(BaseTool, tool_type="remember"):
    def stores_or_removes(self, arguments: dict[str, Any]) -> bool:
        return arguments.get("action") in ("add", "delete")

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        actor = call.actor
        if actor.is_group:
            raise ToolError(GROUP_REFUSAL)
        if not actor.registered:
            raise ToolError("this user is not registered yet: nothing can be remembered")
        action = arguments.get("action")
        if action == "add":
            return await self._add(actor.user_id, arguments.get("fact"))
        if action == "propose":
            return await self._propose(arguments, call)
        if action == "list":
            return {"facts": [_fact_for_reply(f) for f in await self._facts(actor.user_id)]}
        if action == "delete":
            return await self._delete(actor.user_id, arguments)
        raise ToolError("unknown action: use add, propose, list or delete")

    async def _propose(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        """Yes / No under the answer: remember this? Nothing is asked for a fact kept already
        or one the user said No to lately."""
        user_id = call.actor.user_id
        text = _fact_text("propose", arguments.get("fact"))
        known = [f for f in await self._facts(user_id) if fact_key(f.text) == fact_key(text)]
        if known:
            return {**_fact_for_reply(known[0]), "proposed": False, "note": "already known"}
        services = self.services
        if await fact_declined(services.redis, services.names, user_id, text):
            return {"fact": text, "proposed": False, "note": DECLINED_NOTE}
        await keep(self, {"action": "add", "fact": text}, call, fact=text)
        return {"fact": text, "proposed": True, "message": PROPOSED_MESSAGE}

    async def _add(self, user_id: str, fact: object) -> Any:
        text = _fact_text("add", fact)
        try:
            stored, made = await self.services.rest.add_fact(user_id, text)
        except ConflictError as exc:
            raise ToolError(
                f"the user has {PROFILE_FACTS_MAX} facts, the most kept: ask which one to "
                "forget (action 'list' shows them), delete it, then add"
            ) from exc
        except ValidationFailedError as exc:
            raise ToolError(f"the fact was refused: {exc.detail}") from exc
        return {
            **_fact_for_reply(stored),
            "stored": made,
            "note": None if made else "already known",
        }

    async def _delete(self, user_id: str, arguments: dict[str, Any]) -> Any:
        fact_id = arguments.get("fact_id")
        if fact_id:
            return await self._delete_id(user_id, _uuid(str(fact_id)))
        words = " ".join(str(arguments.get("fact") or "").split())
        if not words:
            raise ToolError("action 'delete' needs 'fact_id' (from action 'list') or 'fact'")
        found = _matching(await self._facts(user_id), words)
        if not found:
            raise ToolError(f"no stored fact matches {words!r}: action 'list' shows them all")
        if len(found) > 1:
            listed = "; ".join(f"{f.id}: {f.text}" for f in found)
            raise ToolError(f"several facts match, ask which one (or pass its fact_id): {listed}")
        return await self._delete_id(user_id, found[0].id, found[0].text)

    async def _delete_id(self, user_id: str, fact_id: UUID, text: str | None = None) -> Any:
        if not await self.services.rest.delete_fact(user_id, fact_id):
            raise ToolError("no such fact (deleted already?): action 'list' shows them all")
        return {"deleted": True, "fact_id": str(fact_id), "fact": text}

    async def _facts(self, user_id: str) -> list[ProfileFact]:
        return await self.services.rest.list_facts(user_id, limit=PROFILE_FACTS_MAX)


def _matching(facts: list[ProfileFact], words: str) -> list[ProfileFact]:
    """The fact with these words, or else every fact containing them (or contained in
    them: "forget that I don't eat meat" names "I don't eat meat")."""
    key = fact_key(words)
    exact = [f for f in facts if fact_key(f.text) == key]
    if exact:
        return exact
    return [f for f in facts if key in fact_key(f.text) or fact_key(f.text) in key]


def _fact_text(action: str, fact: object) -> str:
    """The fact on one line, within what is kept."""
    text = " ".join(str(fact or "").split())
    if not text:
        raise ToolError(f"action {action!r} needs 'fact': the user's statement about themselves")
    if len(text) > PROFILE_FACT_MAX_CHARS:
        raise ToolError(
            f"the fact has {len(text)} characters, at most {PROFILE_FACT_MAX_CHARS} are kept: "
            "use a shorter one"
        )
    return text


def _fact_for_reply(fact: ProfileFact) -> dict[str, Any]:
    return {"fact_id": str(fact.id), "fact": fact.text}


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError as exc:
        raise ToolError(f"fact_id {raw[:60]!r} is not an id: action 'list' shows the ids") from exc
