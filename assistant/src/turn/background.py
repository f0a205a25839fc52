"""Who is talking and what the turn knows of them: the sender's profile with the secretary's
thread, window and memory in one request, whether they are blocked, the `Actor` the tools act
for, and the turn's language."""

from __future__ import annotations

from assistant.src.assistants.language import turn_language
from assistant.src.assistants.llm_chat import AssistantDeps, fetch_context
from assistant.src.assistants.recall import Recall
from assistant.src.assistants.secretary import secretary_memory_query
from assistant.src.settings import Settings
from assistant.src.tools.base import Actor
from assistant.src.turn.state import TurnState
from common.features.timezones import zone_or_default
from common.infrastructure.errors import NotFoundError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import IncomingMessage
from common.infrastructure.wire import TurnBackground, User

log = get_logger(__name__)


class Background:
    def __init__(self, settings: Settings, deps: AssistantDeps) -> None:
        self.settings = settings
        self.deps = deps
        self.recall = Recall(deps)

    async def learn(self, state: TurnState) -> None:
        """Fills the turn's context, user and actor; a blocked user's turn stops here."""
        message = state.message
        context = await self._context(state)
        state.context = context
        state.user = context.profile if context is not None else await self._user(message)
        if state.blocked:
            if message.confirmed is None:
                log.info("message_from_blocked_user")
            return
        state.actor = self._actor(message, state.user, context)
        if context is not None and context.unembedded_facts:
            self.recall.learn_facts(state.snapshot, str(message.user_id), context)

    async def _context(self, state: TurnState) -> TurnBackground | None:
        """The sender's profile with the secretary's thread, window and memory, in one
        request (None when no secretary would answer, or for a Yes: no model is asked)."""
        message, secretary = state.message, state.speaker
        if secretary is None or not secretary.is_active or message.confirmed is not None:
            return None
        query = secretary_memory_query(self.settings, message.text)
        meaning = None if query is None else await self.recall.question(state.snapshot, query)
        return await fetch_context(
            self.deps,
            secretary.id,
            message.conversation_key,
            query,
            profile_id=str(message.user_id),
            facts=not message.is_group,
            memory_vector=meaning,
        )

    async def _user(self, message: IncomingMessage) -> User | None:
        try:
            return await self.deps.rest.get_user(str(message.user_id))
        except NotFoundError:
            return None

    def _actor(
        self, message: IncomingMessage, user: User | None, start: TurnBackground | None
    ) -> Actor:
        return Actor(
            user_id=str(message.user_id),
            conversation_key=message.conversation_key,
            chat_id=message.chat_id,
            timezone=zone_or_default(
                user.timezone if user else None, self.settings.default_timezone
            ).key,
            language=turn_language(message, user, start),
            name=message.first_name or (user.first_name if user else None),
            username=message.username or (user.username if user else None),
            is_group=message.is_group,
            registered=user is not None,
            channel=message.source.value,
            bot_id=message.bot_id,
            reply_stream=message.reply_stream,
            answer_channel=message.channel,
            channel_chat_id=message.channel_chat_id,
        )
