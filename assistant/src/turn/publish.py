"""Publish: the tools' notes become the answer's buttons (a Cancel for each reminder made, Yes
/ No for each question asked, a Show for each catalogue item listed) and its photo (a picture
drawn), 👍 / 👎 go under it when
its assistant asks for feedback, and the answer is queued with the message's answered mark,
in one step, once (`outbox.py`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from assistant.src.assistants.phrases import CATALOGUE
from assistant.src.turn.outbox import AnswerOutbox
from assistant.src.turn.reply_form import Answer
from common.features.buttons import (
    LABELS,
    cancel_reminder_button,
    catalogue_item_button,
    confirm_buttons,
    feedback_buttons,
)
from common.features.confirmations import Confirmations, HeldCall, Pending
from common.features.feedback import FeedbackAsks
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import (
    Button,
    IncomingMessage,
    OutgoingKind,
    OutgoingMessage,
    answer_address,
    answer_message_id,
)
from common.infrastructure.redis_keys import Names
from common.infrastructure.text import escape_markdown

log = get_logger(__name__)

#: More reminders made in one turn than this get no buttons beyond it (/reminders has them).
_MAX_CANCEL_BUTTONS = 5
#: Catalogue items shown in one answer get a Show button up to this many.
_MAX_SHOW_BUTTONS = 5


@dataclass
class Asked:
    """The answer's questions: their Yes / No rows and the lines naming held calls."""

    buttons: list[list[Button]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@dataclass
class TurnNotes:
    made: list[str] = field(default_factory=list)
    asked: Asked = field(default_factory=Asked)
    shown: list[tuple[str, str]] = field(default_factory=list)
    phone: bool = False
    #: The blob key of the picture the draw tool made.
    picture: str | None = None


class Publisher:
    def __init__(self, redis: aioredis.Redis, names: Names, outbox: AnswerOutbox) -> None:
        self.redis = redis
        self.names = names
        self.outbox = outbox

    async def publish(
        self, message: IncomingMessage, answer: Answer, model_seconds: float | None = None
    ) -> None:
        """Queue the answer and mark the message answered, in one step, once; it carries the
        message's `received_at` and the turn's `model_seconds` on, for the answer time."""
        notes = await self._turn_notes(message, answer)
        made, asked, shown, phone = notes.made, notes.asked, notes.shown, notes.phone
        asks_phone = phone and not message.is_group
        # Telegram shows one keyboard: the phone button (the customer's next step) wins.
        rating = [] if asks_phone else await self._rating(answer, message.language_code)
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
            photo_blob_key=notes.picture,
            bot_id=message.bot_id,
            **answer_address(message),
            buttons=[[cancel_reminder_button(job, message.language_code)] for job in made]
            + asked.buttons
            + [[catalogue_item_button(i, name, message.language_code)] for i, name in shown]
            + rating,
            request_phone=LABELS.text(message.language_code, "share_phone") if asks_phone else None,
            usage=answer.usage,
            received_at=message.received_at,
            model_seconds=model_seconds,
        )
        if not await self.outbox.put(message, outgoing):
            log.warning("answer_already_queued")

    async def _turn_notes(self, message: IncomingMessage, answer: Answer) -> TurnNotes:
        """What the tools noted for the answer, read in one round trip: the reminders this
        turn made (each gets a Cancel), the actions it asked about (Yes / No each: calendar
        deletes, held tool calls), the catalogue items it showed (a Show each), whether the
        contact tool asked for the number (the phone keyboard) and the picture drawn.
        An apology carries none, so nothing is done on a failed turn; an answer no tool
        worked on has none to read (no round trip)."""
        if answer.kind != OutgoingKind.REPLY or not answer.noted:
            return TurnNotes()
        message_id = str(message.message_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lrange(self.names.reminders_made(message_id), 0, _MAX_CANCEL_BUTTONS * 4)
            pipe.lrange(self.names.confirmations_asked(message_id), 0, _MAX_CANCEL_BUTTONS - 1)
            pipe.lrange(self.names.catalogue_shown(message_id), 0, _MAX_SHOW_BUTTONS * 4)
            pipe.exists(self.names.phone_requested(message_id))
            pipe.get(self.names.picture_drawn(message_id))
            made, found, shown, phone, picture = await pipe.execute()
        asked = await self._asked(_tokens(found), message.language_code)
        return TurnNotes(
            _reminders_made(made),
            asked,
            _items_shown(shown),
            bool(phone),
            picture.decode() if isinstance(picture, bytes) else picture,
        )

    async def _rating(self, answer: Answer, language: str | None) -> list[list[Button]]:
        """👍 / 👎 under an answer whose assistant asks for feedback, last."""
        if answer.rated is None or answer.kind != OutgoingKind.REPLY:
            return []
        token = await FeedbackAsks(self.redis, self.names).offer(answer.rated)
        return feedback_buttons(token, language)

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
            if isinstance(found, HeldCall):
                asked.lines.append(_question(found, language))
        return asked


def _question(held: HeldCall, language: str | None) -> str:
    """A proposal names the fact to remember; another held call exactly what it would do."""
    if held.fact:
        return CATALOGUE.text(language, "remember_proposal", fact=escape_markdown(held.fact))
    return CATALOGUE.text(language, "held", what=escape_markdown(held.summary))


def _items_shown(found: list[bytes | str]) -> list[tuple[str, str]]:
    """(id, name) of each item a search showed, once, in the order shown."""
    items: dict[str, str] = {}
    for raw in found:
        item = json.loads(raw)
        items.setdefault(str(item["id"]), str(item["name"]))
    return list(items.items())[:_MAX_SHOW_BUTTONS]


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
