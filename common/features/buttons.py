"""Inline-keyboard buttons: the callback data codec (one place) and the buttons two services
build (a fired reminder's in cron_service, a reminder confirmation's in the assistant).

Callback data comes back from Telegram as whatever string a client sends, so `decode` reads
anything and returns None for what is not ours (another version, garbled, too long); `encode`
refuses what would not fit Telegram's 64 bytes. The form is `b1:<action>:<target>:<option>`:
`target` is what the button acts on (a reminder's or a model's id, a Telegram user id),
`option` a choice (snooze minutes), both `[A-Za-z0-9._-]*` so a UUID fits as it is.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from common.features.texts import TEXTS
from common.infrastructure.queue_messages import Button
from common.infrastructure.wire import CronJob

VERSION = "b1"
#: Telegram's limit on `callback_data`, in bytes.
MAX_DATA_BYTES = 64
_FIELD = re.compile(r"[A-Za-z0-9._-]*")


class ButtonAction(StrEnum):
    SNOOZE = "sn"
    DONE = "dn"
    CANCEL_REMINDER = "cx"
    MODEL = "md"
    FORGET_YES = "fy"
    FORGET_NO = "fn"
    CALENDAR_DISCONNECT = "cd"
    #: Make one of the user's Google accounts the default (the option: the account's tag).
    CALENDAR_DEFAULT = "cf"
    MEMORY_DELETE = "mx"
    #: Yes / No under /memory clear; the target is the asker's Telegram id.
    MEMORY_CLEAR_YES = "my"
    MEMORY_CLEAR_NO = "mn"
    CANCEL_BRIEFING = "cb"
    #: Yes / No of an action waiting for its owner (`common/features/confirmations.py`); the codes
    #: are the ones calendar deletes had first, so older questions stay answerable.
    CONFIRM_YES = "ey"
    CONFIRM_NO = "en"
    #: A catalogue item under a search's answer: asks the assistant to show it.
    CATALOGUE_SHOW = "cs"
    #: 👍 / 👎 under an answer, and Skip under the question for a 👎's comment; the target is
    #: the token of what they rate (`common/features/feedback.py`).
    FEEDBACK_UP = "fu"
    FEEDBACK_DOWN = "fd"
    FEEDBACK_SKIP = "fs"
    #: Under a handoff's message in the operator chat: the conversation goes back to the bot.
    HAND_BACK = "hb"
    #: ✓ under /tasks: the task (the target) is done.
    TASK_COMPLETE = "tc"
    #: Approve / Refuse under a stranger's pairing request sent to the owners; the target is
    #: the pairing's code.
    PAIRING_APPROVE = "pa"
    PAIRING_REFUSE = "pr"


@dataclass(frozen=True)
class ButtonData:
    action: ButtonAction
    target: str = ""
    option: str = ""

    def encode(self) -> str:
        """The callback data; ValueError for fields that could not be read back or too long."""
        for value in (self.target, self.option):
            if not _FIELD.fullmatch(value):
                raise ValueError(f"button field {value!r} has characters outside [A-Za-z0-9._-]")
        data = f"{VERSION}:{self.action.value}:{self.target}:{self.option}"
        if len(data.encode()) > MAX_DATA_BYTES:
            raise ValueError(f"callback data over {MAX_DATA_BYTES} bytes: {data!r}")
        return data


def decode(data: str | None) -> ButtonData | None:
    """Our button's data, or None for anything else: never raises."""
    if not isinstance(data, str) or len(data.encode("utf-8", "replace")) > MAX_DATA_BYTES:
        return None
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != VERSION:
        return None
    _, action, target, option = parts
    if not (_FIELD.fullmatch(target) and _FIELD.fullmatch(option)):
        return None
    try:
        return ButtonData(ButtonAction(action), target, option)
    except ValueError:
        return None


def button(text: str, data: ButtonData) -> Button:
    return Button(text=text, data=data.encode())


# -- reminders: the rule of a snooze and the buttons of a fired one -----------------------------

#: Snooze choices of a fired reminder's buttons: option → how long.
SNOOZES: dict[str, timedelta] = {
    "10m": timedelta(minutes=10),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}


def snoozed_until(now: datetime, delay: timedelta) -> datetime:
    """When a snoozed reminder fires again: `now` (aware, in the reminder's timezone) plus
    `delay` on the wall clock, so "tomorrow" keeps the time of day across a DST change."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return (now.replace(microsecond=0) + delay).replace(fold=0)


def snoozed_insistence(job: CronJob) -> dict[str, Any]:
    """What a snoozed copy of `job` keeps of its insistence: an urgent reminder's copy repeats
    as it did (`create_cron_job`'s arguments); a calm one's, nothing."""
    if not job.urgent:
        return {}
    return {
        "urgent": True,
        "repeat_every_minutes": job.repeat_every_minutes,
        "max_repeats": job.max_repeats,
    }


def snooze_idempotency_key(job_id: uuid.UUID | str, chat_id: int, telegram_message_id: int) -> str:
    """One snooze per fired message, whichever button and however often it is tapped."""
    return f"button-snooze:{job_id}:{chat_id}:{telegram_message_id}"


LABELS = TEXTS.section("label")


def fired_option(choice: str, occurrence: datetime | None) -> str:
    """A fired reminder's button option: its choice (a snooze's length, "" for Done) and, for
    an urgent reminder, the occurrence it is under in Unix seconds (`10m.1764234000`), so the
    press acknowledges that fire and no other."""
    return choice if occurrence is None else f"{choice}.{int(occurrence.timestamp())}"


def fired_choice(option: str) -> tuple[str, datetime | None]:
    """The choice and the occurrence a fired reminder's button carries; no occurrence for an
    older button's option, or a garbled one."""
    choice, _, seconds = option.partition(".")
    if not seconds.isdigit() or len(seconds) > 12:
        return choice, None
    return choice, datetime.fromtimestamp(int(seconds), UTC)


def fired_reminder_buttons(
    job_id: uuid.UUID | str, language: str | None, occurrence: datetime | None = None
) -> list[list[Button]]:
    """Snooze 10 min / 1 h / Tomorrow, and Done, under a fired reminder (an urgent one's
    `occurrence`: the fire they acknowledge)."""
    target = str(job_id)
    snoozes = [
        button(
            LABELS.text(language, f"snooze_{option}"),
            ButtonData(ButtonAction.SNOOZE, target, fired_option(option, occurrence)),
        )
        for option in SNOOZES
    ]
    pressed = ButtonData(ButtonAction.DONE, target, fired_option("", occurrence))
    done = button(LABELS.text(language, "done"), pressed)
    return [snoozes, [done]]


def cancel_reminder_button(job_id: uuid.UUID | str, language: str | None) -> Button:
    return button(
        LABELS.text(language, "cancel"), ButtonData(ButtonAction.CANCEL_REMINDER, str(job_id))
    )


def confirm_buttons(token: str, language: str | None, *, deleting: bool) -> list[list[Button]]:
    """Yes / No under the assistant's question before an action waiting for the user (a
    calendar event's delete: `deleting`, or a held tool call)."""
    yes = ButtonData(ButtonAction.CONFIRM_YES, token)
    no = ButtonData(ButtonAction.CONFIRM_NO, token)
    labels = ("delete_yes", "delete_no") if deleting else ("confirm_yes", "confirm_no")
    return [
        [
            button(LABELS.text(language, labels[0]), yes),
            button(LABELS.text(language, labels[1]), no),
        ]
    ]


#: A catalogue item's name on its button is cut here (Telegram shows a short line).
BUTTON_NAME_CHARS = 40


def catalogue_item_button(item_id: uuid.UUID | str, name: str, language: str | None) -> Button:
    """ "Show <name>" under an answer that listed the item."""
    short = name if len(name) <= BUTTON_NAME_CHARS else name[: BUTTON_NAME_CHARS - 1] + "…"
    label = LABELS.text(language, "catalogue_show", name=short)
    return button(label, ButtonData(ButtonAction.CATALOGUE_SHOW, str(item_id)))


def feedback_buttons(token: str, language: str | None) -> list[list[Button]]:
    """👍 / 👎 under an answer whose assistant asks for feedback."""
    up = button(LABELS.text(language, "feedback_up"), ButtonData(ButtonAction.FEEDBACK_UP, token))
    down = ButtonData(ButtonAction.FEEDBACK_DOWN, token)
    return [[up, button(LABELS.text(language, "feedback_down"), down)]]


def feedback_skip_button(token: str, language: str | None) -> Button:
    """Skip under the question for a 👎's comment."""
    skip = ButtonData(ButtonAction.FEEDBACK_SKIP, token)
    return button(LABELS.text(language, "feedback_skip"), skip)


def hand_back_button(handoff_id: uuid.UUID | str, language: str | None) -> Button:
    """ "Hand back to the bot" under a handoff's message in the operator chat."""
    return button(
        LABELS.text(language, "hand_back"), ButtonData(ButtonAction.HAND_BACK, str(handoff_id))
    )


def pairing_buttons(code: str, language: str | None) -> list[list[Button]]:
    """Approve / Refuse under a stranger's pairing request in an owner's chat."""
    approve = ButtonData(ButtonAction.PAIRING_APPROVE, code)
    refuse = ButtonData(ButtonAction.PAIRING_REFUSE, code)
    return [
        [
            button(LABELS.text(language, "pairing_approve"), approve),
            button(LABELS.text(language, "pairing_refuse"), refuse),
        ]
    ]
