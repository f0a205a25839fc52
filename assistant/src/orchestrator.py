"""The orchestrator: one incoming message in, one answer out to its `reply_stream`.

The stream queue calls `handle` once per message, one at a time per chat. The answer is
queued together with an `assistant:answered` mark in one transaction, so a message that is
redelivered after its answer went out is not answered again. rest_service down means
`RetryLater`: the message stays pending and is answered when it is back.

A failure that retrying cannot fix (rest_service refusing the turn with a 4xx) is answered at
once with a short apology; one that outlasts the queue's retries reaches `dead_lettered`
(the queue's hook), which apologises before the entry is dead-lettered. Either way the user
hears back and the failure is logged and counted: a message is never only a dead letter.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from prometheus_client import Counter, Histogram

from assistant.src.assistants.attachments import (
    AttachmentReader,
    Refusal,
    TurnInput,
    blob_keys,
    vision_routes,
)
from assistant.src.assistants.base import Turn
from assistant.src.assistants.factory import AssistantFactory
from assistant.src.assistants.language import turn_language
from assistant.src.assistants.llm_chat import AssistantDeps, fetch_context
from assistant.src.assistants.phrases import CATALOGUE
from assistant.src.assistants.secretary import Secretary, secretary_memory_query
from assistant.src.assistants.voice_reply import VoiceReplies, wants_voice
from assistant.src.clients.llm import TurnRecord, recording
from assistant.src.confirmed import run_confirmed
from assistant.src.drafts import drafts_for
from assistant.src.live_config.watcher import ConfigWatcher
from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolServices
from common.features.blobs import BlobStore
from common.features.buttons import cancel_reminder_button, confirm_buttons
from common.features.confirmations import Confirmations, HeldCall, Pending
from common.features.timezones import zone_or_default
from common.infrastructure.errors import AppError, NotFoundError, RetryLater
from common.infrastructure.logging import correlation, get_logger
from common.infrastructure.queue import DeadLetter
from common.infrastructure.queue_messages import (
    ID_NAMESPACE,
    Button,
    IncomingMessage,
    OutgoingKind,
    OutgoingMessage,
    answer_message_id,
)
from common.infrastructure.redis_keys import TO_TELEGRAM, Names
from common.infrastructure.rest_client import RestServiceUnavailable
from common.infrastructure.text import clean_text, clean_tree, escape_markdown
from common.infrastructure.wire import ConfigSnapshot, SnapshotAssistant, TurnBackground, User

log = get_logger(__name__)

TURN_SECONDS = Histogram(
    "smart_assistant_assistant_turn_seconds",
    "Time from taking a message to queueing its answer",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
TURN_FAILURES = Counter(
    "smart_assistant_assistant_turn_failures_total",
    "Turns that failed for good and were answered with an apology",
    ["reason"],
)

#: More reminders made in one turn than this get no buttons beyond it (/reminders has them).
_MAX_CANCEL_BUTTONS = 5
#: Blob keys taken from an unreadable payload at most (an album has ten).
_MAX_SALVAGED_BLOBS = 20
#: How long the "answered" mark outlives the message (the queue's `done:` TTL).
ANSWERED_TTL_S = 7 * 24 * 3600

# Queue the answer only if the message was not answered yet: even two handlers racing on one
# message (a chat lock lost to a stalled process) put one answer on the stream. KEYS: the
# mark, the reply stream, the turn's record of completions, deleted with it (one slot:
# `Names.assistant_answered`, `turn_record_key`).
_PUBLISH_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'data', ARGV[2])
  redis.call('DEL', KEYS[3])
  return 1
end
return 0
"""


def turn_record_key(names: Names, message: IncomingMessage) -> str:
    """The message's record of finished completions (`clients/llm.py`), beside its mark."""
    reply_stream = names.stream(message.reply_stream)
    return names.tagged(reply_stream, f"assistant:llm_record:{message.message_id}")


@dataclass(frozen=True)
class FirstReads:
    """What a turn reads before it begins, in one round trip."""

    answered: bool
    value: bytes | None
    recorded: bool


class AnswerOutbox:
    """Answers queued on their reply stream together with the message's answered mark, once
    per message."""

    def __init__(self, redis: aioredis.Redis, names: Names) -> None:
        self._redis = redis
        self._names = names
        self._publish_once = redis.register_script(_PUBLISH_ONCE)

    async def answered(self, message: IncomingMessage) -> bool:
        """The mark set with the answer's XADD: the message was answered already."""
        found, _ = await self.answered_and_get(message, None)
        return found

    async def answered_and_get(
        self, message: IncomingMessage, key: str | None
    ) -> tuple[bool, bytes | None]:
        """`answered`, and the value at `key` (a turn's other first read), in one round trip
        (on a Cluster, one per node: each key is its own command, as slots differ)."""
        reads = await self.first_reads(message, key)
        return reads.answered, reads.value

    async def first_reads(self, message: IncomingMessage, key: str | None) -> FirstReads:
        """`answered_and_get`, and whether an earlier try of the turn left a record."""
        message_id = str(message.message_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(self._names.assistant_answered(message_id, message.reply_stream))
            pipe.exists(turn_record_key(self._names, message))
            if key is not None:
                pipe.get(key)
            found = await pipe.execute()
        value = found[2] if key is not None else None
        return FirstReads(bool(found[0]), value, bool(found[1]))

    async def put(self, message: IncomingMessage, outgoing: OutgoingMessage) -> bool:
        """False when an answer to `message` was queued already."""
        keys = [
            self._names.assistant_answered(str(message.message_id), message.reply_stream),
            self._names.stream(message.reply_stream),
            turn_record_key(self._names, message),
        ]
        return bool(await self._publish_once(keys=keys, args=[ANSWERED_TTL_S, outgoing.to_json()]))


@dataclass(frozen=True)
class Answer:
    text: str
    kind: OutgoingKind
    #: The answer spoken (`voice_reply.py`), sent as a voice message with `text`.
    voice_blob_key: str | None = None
    #: Whether tools may have left notes for its buttons (False: none ran, nothing to read).
    noted: bool = True


@dataclass
class Asked:
    """The answer's questions: their Yes / No rows and the lines naming held calls."""

    buttons: list[list[Button]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


class Orchestrator:
    def __init__(
        self,
        *,
        settings: Settings,
        redis: aioredis.Redis,
        names: Names,
        deps: AssistantDeps,
        services: ToolServices,
        config: ConfigWatcher,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.names = names
        self.deps = deps
        self.services = services
        self.config = config
        self.outbox = AnswerOutbox(redis, names)
        #: The files of a turn (voice, pictures, documents), deleted when it is answered.
        self.blobs = BlobStore(redis, names)
        self.attachments = AttachmentReader(settings, self.blobs, deps.llm)
        self.voice = VoiceReplies(settings, self.blobs, deps.llm)

    async def handle(self, message: IncomingMessage) -> None:
        reads = await self.outbox.first_reads(message, self.config.version_key)
        if reads.answered:
            log.info("message_already_answered")
            await self.blobs.delete(*blob_keys(message))
            return
        started = time.perf_counter()
        record = TurnRecord(self.redis, turn_record_key(self.names, message), reads.recorded)
        message = readable(message)
        try:
            with recording(record):
                answer = await self.answer(message, self.config.parse_version(reads.value))
        except RestServiceUnavailable as exc:
            log.warning("rest_service_unavailable", error=str(exc))
            raise RetryLater(self.settings.rest_retry_seconds, "rest_service unavailable") from exc
        except AppError as exc:
            if not 400 <= exc.status_code < 500:
                raise
            answer = self._failed("refused", exc, message.language_code)
        if answer is not None:
            await self.publish(message, answer)
        await self.blobs.delete(*blob_keys(message))
        elapsed = time.perf_counter() - started
        TURN_SECONDS.observe(elapsed)
        log.info("message_handled", turn_ms=round(elapsed * 1000, 2), answered=answer is not None)

    async def answer(
        self, message: IncomingMessage, config_version: int | None = None
    ) -> Answer | None:
        """The answer to `message`; None for a blocked user. `config_version`: the stored
        version of the live config, when the caller read it already."""
        snapshot = await self.config.current_snapshot(config_version)
        if message.confirmed is not None:
            return await self._confirmed(message, message.confirmed, snapshot)
        reading = await self._read_attachments(message, snapshot)
        if isinstance(reading, TurnInput):
            message = message.model_copy(update={"text": reading.text})
        start = await self._turn_context(message, snapshot.secretary)
        user = start.profile if start is not None else await self._user(message)
        if user is not None and user.blocked:
            log.info("message_from_blocked_user")
            return None
        actor = self._actor(message, user, start)
        if isinstance(reading, Refusal):
            return Answer(reading.text(actor.language), OutgoingKind.REPLY)
        factory = AssistantFactory(
            self.deps,
            self.services,
            snapshot,
            preferred_model=user.preferred_model if user else None,
        )
        await factory.prepare()
        # A document's text or a picture is outside content from the start of the turn.
        factory.outside.taken = reading is not None and reading.parts is not None
        secretary = factory.secretary()
        if secretary is None:
            log.error("no_secretary_configured", config_version=snapshot.version)
            return Answer(CATALOGUE.text(actor.language, "not_configured"), OutgoingKind.ERROR)
        secretary.drafts = drafts_for(message, self.settings, self.redis, self.names)
        parts = reading.parts if reading is not None else None
        if reading is not None and reading.vision:
            try:
                self._see(secretary, snapshot, user)
            except Refusal as refusal:
                return Answer(refusal.text(actor.language), OutgoingKind.REPLY)
        turn = Turn(message.text, actor, str(message.message_id), parts=parts)
        result = await secretary.answer(turn, start)
        if result.text is None:
            return Answer(CATALOGUE.text(actor.language, "apology"), OutgoingKind.ERROR)
        log.info("message_answered", model=result.model, replayed=result.replayed)
        voice = None
        if wants_voice(user, message.text):
            voice = await self.voice.speak(result.text, snapshot)
        shown = (reading.prefix() if reading is not None else "") + result.text
        return Answer(shown, OutgoingKind.REPLY, voice, noted=result.tools_ran)

    async def _confirmed(
        self, message: IncomingMessage, token: str, snapshot: ConfigSnapshot
    ) -> Answer | None:
        """The user said Yes to a held tool call: it runs, and the answer says how it went."""
        user = await self._user(message)
        if user is not None and user.blocked:
            return None
        actor = self._actor(message, user)
        factory = AssistantFactory(self.deps, self.services, snapshot)
        confirmations = Confirmations(self.redis, self.names)
        text = await run_confirmed(token, actor, factory, confirmations)
        return Answer(text, OutgoingKind.REPLY, noted=False)

    async def _read_attachments(
        self, message: IncomingMessage, snapshot: ConfigSnapshot
    ) -> TurnInput | Refusal | None:
        """The turn the message's files make (None: it has none), or why they cannot."""
        if not message.attachments:
            return None
        try:
            return await self.attachments.read(message, snapshot, message.language_code)
        except Refusal as refusal:
            log.info("attachment_refused", reason=refusal.key)
            return refusal

    def _see(self, secretary: Secretary, snapshot: ConfigSnapshot, user: User | None) -> None:
        """Pictures go to a model with `vision` (`Refusal` when none may take them)."""
        preferred = user.preferred_model if user else None
        secretary.routes = vision_routes(snapshot, self.settings, secretary.routes, preferred)

    async def dead_lettered(self, dead: DeadLetter[IncomingMessage]) -> None:
        """The queue's hook: the sender of a message that failed for good gets an apology
        (unless it was answered after all)."""
        message = dead.message or salvage_for_apology(dead.data)
        if message is None:
            log.error("dead_letter_without_sender", entry_id=dead.entry_id, reason=dead.reason)
            TURN_FAILURES.labels("unanswerable").inc()
            await self.blobs.delete(*_blobs_of(dead))
            return
        with correlation(str(message.message_id)):
            answer = self._failed("dead_letter", RuntimeError(dead.reason), message.language_code)
            try:
                await self.publish(message, answer)
            finally:
                await self.blobs.delete(*_blobs_of(dead))

    async def dropped(self, message: IncomingMessage) -> None:
        """The queue's hook for a duplicate entry: its files are not needed (the first
        delivery was answered) and go, with what they held of the blob budget."""
        await self.blobs.delete(*blob_keys(message))

    def _failed(self, reason: str, exc: BaseException, language: str | None) -> Answer:
        log.error("turn_failed_apologised", reason=reason, error=str(exc)[:500])
        TURN_FAILURES.labels(reason).inc()
        return Answer(CATALOGUE.text(language, "turn_failed"), OutgoingKind.ERROR)

    async def publish(self, message: IncomingMessage, answer: Answer) -> None:
        """Queue the answer and mark the message answered, in one step, once."""
        made, asked = await self._turn_notes(message, answer)
        text = answer.text + "".join(f"\n\n{line}" for line in asked.lines)
        outgoing = OutgoingMessage(
            message_id=answer_message_id(message.message_id),
            chat_id=message.chat_id,
            text=f"{CATALOGUE.text(message.language_code, 'edited')}\n\n{text}"
            if message.edited
            else text,
            kind=answer.kind,
            correlation_id=str(message.message_id),
            reply_to_telegram_message_id=message.telegram_message_id,
            message_thread_id=message.message_thread_id,
            voice_blob_key=answer.voice_blob_key,
            buttons=[[cancel_reminder_button(job, message.language_code)] for job in made]
            + asked.buttons,
        )
        if not await self.outbox.put(message, outgoing):
            log.warning("answer_already_queued")

    async def _turn_notes(
        self, message: IncomingMessage, answer: Answer
    ) -> tuple[list[str], Asked]:
        """What the tools noted for the answer's buttons, read in one round trip: the
        reminders this turn made (each gets a Cancel) and the actions it asked about (Yes /
        No each: calendar deletes, held tool calls). An apology carries none, so nothing is
        done on a failed turn; an answer no tool worked on has none to read (no round
        trip)."""
        if answer.kind != OutgoingKind.REPLY or not answer.noted:
            return [], Asked()
        message_id = str(message.message_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lrange(self.names.reminders_made(message_id), 0, _MAX_CANCEL_BUTTONS * 4)
            pipe.lrange(self.names.confirmations_asked(message_id), 0, _MAX_CANCEL_BUTTONS - 1)
            made, found = await pipe.execute()
        return _reminders_made(made), await self._asked(_tokens(found), message.language_code)

    async def _asked(self, tokens: list[str], language: str | None) -> Asked:
        """Yes / No for each question still open; a held call's line says exactly what it
        would do, in our words, whatever the model's answer says about it."""
        asked = Asked()
        pending = await Confirmations(self.redis, self.names).peek_many(tokens)
        for token, found in in_call_order(list(zip(tokens, pending, strict=True))):
            if found is None:
                continue
            held = isinstance(found, HeldCall)
            asked.buttons += confirm_buttons(token, language, deleting=not held)
            if held:
                what = escape_markdown(found.summary)
                asked.lines.append(CATALOGUE.text(language, "held", what=what))
        return asked

    async def _turn_context(
        self, message: IncomingMessage, secretary: SnapshotAssistant | None
    ) -> TurnBackground | None:
        """The sender's profile with the secretary's thread, window and memory, in one
        request (None when no secretary would answer)."""
        if secretary is None or not secretary.is_active:
            return None
        return await fetch_context(
            self.deps,
            secretary.id,
            message.conversation_key,
            secretary_memory_query(self.settings, message.text),
            profile_id=str(message.user_id),
            facts=not message.is_group,
        )

    async def _user(self, message: IncomingMessage) -> User | None:
        try:
            return await self.deps.rest.get_user(str(message.user_id))
        except NotFoundError:
            return None

    def _actor(
        self, message: IncomingMessage, user: User | None, start: TurnBackground | None = None
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
        )


def readable(message: IncomingMessage) -> IncomingMessage:
    """The message with NUL and lone surrogates replaced in its free text, which rest_service
    (Postgres) and JSON encoders refuse."""
    fields = {"text": message.text, "first_name": message.first_name, "username": message.username}
    cleaned = {k: clean_text(v) for k, v in fields.items() if v is not None}
    if all(cleaned[k] == fields[k] for k in cleaned):
        return message
    return message.model_copy(update=cleaned)


def salvage_for_apology(data: str) -> IncomingMessage | None:
    """Enough of a payload that did not parse to apologise to its chat: the chat id, and what
    else is readable (the reply stream, the language, the message id)."""
    try:
        raw = clean_tree(json.loads(data))
        if not isinstance(raw, dict) or isinstance(raw.get("chat_id"), bool):
            return None
        chat_id = int(raw["chat_id"])
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError):
        return None
    fields: dict[str, object] = {"chat_id": chat_id, "text": "", "user_id": uuid.UUID(int=0)}
    fields["message_id"] = uuid.uuid5(ID_NAMESPACE, f"salvaged:{data}")
    for name in ("message_id", "reply_stream", "language_code", "telegram_message_id"):
        value = raw.get(name)
        candidate = {**fields, name: value}
        try:
            IncomingMessage.model_validate(candidate)
        except ValueError:
            continue
        fields[name] = value
    if str(fields.get("reply_stream", TO_TELEGRAM)).startswith(("queue:to_secretary", "done:")):
        fields["reply_stream"] = TO_TELEGRAM
    return IncomingMessage.model_validate(fields)


def _blobs_of(dead: DeadLetter[IncomingMessage]) -> list[str]:
    """A dead entry's blob keys: its message's, or those in a payload that did not parse
    (the store deletes only its own keys, whatever a payload names)."""
    if dead.message is not None:
        return blob_keys(dead.message)
    try:
        raw = json.loads(dead.data)
    except (ValueError, RecursionError):
        return []
    files = raw.get("attachments") if isinstance(raw, dict) else None
    if not isinstance(files, list):
        return []
    keys = (f.get("blob_key") for f in files if isinstance(f, dict))
    return [key for key in keys if isinstance(key, str)][:_MAX_SALVAGED_BLOBS]


def _reminders_made(found: list[bytes | str]) -> list[str]:
    ids = (raw.decode() if isinstance(raw, bytes) else str(raw) for raw in found)
    return list(dict.fromkeys(ids))[:_MAX_CANCEL_BUTTONS]


def in_call_order(
    asked: Sequence[tuple[str, Pending | None]],
) -> list[tuple[str, Pending | None]]:
    """`asked` with its held calls in the order the model made them (their positions, `2/10`
    after `2/9`), each in a slot a held call had: calls of one turn run at once and note their
    questions as they finish, so the noted order changes from run to run. The rest stay put."""
    slots = [i for i, (_, found) in enumerate(asked) if isinstance(found, HeldCall)]
    held = sorted((asked[i] for i in slots), key=lambda entry: _place(entry[1]))
    ordered = list(asked)
    for slot, entry in zip(slots, held, strict=True):
        ordered[slot] = entry
    return ordered


def _place(found: Pending | None) -> tuple[int, ...]:
    position = found.position if isinstance(found, HeldCall) else ""
    return tuple(int(part) for part in position.split("/") if part.isdigit())


def _tokens(found: list[bytes | str]) -> list[str]:
    tokens = (raw.decode() if isinstance(raw, bytes) else str(raw) for raw in found)
    return list(dict.fromkeys(tokens))
