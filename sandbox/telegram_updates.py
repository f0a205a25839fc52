"""Realistic Bot API updates for the stand-in: private and group text, mentions with entities,
replies to the bot, commands, voice and other media, the bot blocked and unblocked.

Builders return an update without `update_id`, and a message without `message_id`/`date`;
the stand-in fills those in when the update is injected, so ids stay consistent per chat.
Entities are detected the way Telegram does for what the bot cares about: `bot_command` and
`mention`, with offsets and lengths in UTF-16 code units.
"""

from __future__ import annotations

import re
from typing import Any

Json = dict[str, Any]

_COMMAND = re.compile(r"(?<![\w/<>])/[a-zA-Z0-9_]{1,64}(?:@[a-zA-Z0-9_]{3,32})?(?![\w/<>])")
_MENTION = re.compile(r"(?<!\w)@[a-zA-Z0-9_]{2,32}(?!\w)")


def utf16_len(text: str) -> int:
    """Telegram's length: UTF-16 code units (a lone surrogate, as JSON can carry one, is one)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def user(
    user_id: int,
    first_name: str = "Anna",
    *,
    username: str | None = None,
    language_code: str | None = "en",
    last_name: str | None = None,
    is_bot: bool = False,
) -> Json:
    found: Json = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    for key, value in (
        ("last_name", last_name),
        ("username", username),
        ("language_code", language_code),
    ):
        if value is not None:
            found[key] = value
    return found


def private_chat(of: Json) -> Json:
    chat: Json = {"id": of["id"], "type": "private", "first_name": of.get("first_name", "")}
    if of.get("username"):
        chat["username"] = of["username"]
    return chat


def group_chat(chat_id: int, title: str = "Team", *, supergroup: bool = True) -> Json:
    return {"id": chat_id, "type": "supergroup" if supergroup else "group", "title": title}


def detect_entities(text: str) -> list[Json]:
    """The `bot_command` and `mention` entities Telegram would attach to `text`."""
    found: list[Json] = []
    for kind, pattern in (("bot_command", _COMMAND), ("mention", _MENTION)):
        for match in pattern.finditer(text):
            if kind == "mention" and match.start() > 0 and text[match.start() - 1] == "/":
                continue
            found.append(
                {
                    "type": kind,
                    "offset": utf16_len(text[: match.start()]),
                    "length": utf16_len(match.group()),
                }
            )
    commands = [e for e in found if e["type"] == "bot_command"]
    inside_command = [
        m
        for m in found
        if m["type"] == "mention"
        and any(c["offset"] < m["offset"] < c["offset"] + c["length"] for c in commands)
    ]
    return sorted(
        (e for e in found if e not in inside_command), key=lambda e: (e["offset"], e["type"])
    )


def message(
    chat: Json,
    sender: Json,
    *,
    text: str | None = None,
    entities: list[Json] | None = None,
    reply_to: Json | None = None,
    **content: Any,
) -> Json:
    """An update carrying one message; `content` adds media fields (voice=..., photo=...)."""
    body: Json = {"chat": chat, "from": sender}
    if text is not None:
        body["text"] = text
        detected = detect_entities(text) if entities is None else entities
        if detected:
            body["entities"] = detected
    if reply_to is not None:
        body["reply_to_message"] = reply_to
    body.update(content)
    return {"message": body}


def private_text(sender: Json, text: str) -> Json:
    return message(private_chat(sender), sender, text=text)


def group_text(chat: Json, sender: Json, text: str) -> Json:
    return message(chat, sender, text=text)


def mention(
    chat: Json, sender: Json, bot_username: str, *, before: str = "", after: str = ""
) -> Json:
    """`before@bot_username after`, with the mention entity where Telegram puts it."""
    return message(chat, sender, text=f"{before}@{bot_username}{after}")


def text_mention(chat: Json, sender: Json, bot: Json, text: str, name: str) -> Json:
    """A mention by name (no username): a `text_mention` entity carrying the bot user."""
    start = text.index(name)
    entity = {
        "type": "text_mention",
        "offset": utf16_len(text[:start]),
        "length": utf16_len(name),
        "user": bot,
    }
    return message(chat, sender, text=text, entities=[entity])


def reply(chat: Json, sender: Json, text: str, to: Json) -> Json:
    """A reply to `to` (a message object, e.g. one the bot sent)."""
    return message(chat, sender, text=text, reply_to=to)


def command(
    chat: Json, sender: Json, name: str, args: str = "", *, bot_username: str | None = None
) -> Json:
    head = f"/{name}@{bot_username}" if bot_username else f"/{name}"
    return message(chat, sender, text=f"{head} {args}".rstrip())


def voice(chat: Json, sender: Json, *, duration: int = 3, reply_to: Json | None = None) -> Json:
    return message(
        chat,
        sender,
        reply_to=reply_to,
        voice={
            "file_id": "AwACAgIAAxkBAAIBvoice",
            "file_unique_id": "AgADvoice",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 4_096,
        },
    )


def photo(chat: Json, sender: Json, *, caption: str | None = None) -> Json:
    sizes = [
        {"file_id": f"AgACAgIAAxkBAAIBphoto{w}", "file_unique_id": f"AQADphoto{w}",
         "width": w, "height": w, "file_size": w * 10}
        for w in (90, 320, 800)
    ]  # fmt: skip
    extra: Json = {"photo": sizes}
    if caption is not None:
        extra["caption"] = caption
        entities = detect_entities(caption)
        if entities:
            extra["caption_entities"] = entities
    return message(chat, sender, **extra)


def sticker(chat: Json, sender: Json) -> Json:
    return message(
        chat,
        sender,
        sticker={
            "file_id": "CAACAgIAAxkBAAIBsticker",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        },
    )


def document(chat: Json, sender: Json, file_name: str = "report.pdf") -> Json:
    return message(
        chat,
        sender,
        document={
            "file_id": "BQACAgIAAxkBAAIBdocument",
            "file_unique_id": "AgADdocument",
            "file_name": file_name,
            "mime_type": "application/pdf",
        },
    )


def bot_membership(sender: Json, bot: Json, *, blocked: bool) -> Json:
    """The user blocked (`kicked`) or unblocked (`member`) the bot in their private chat."""
    old, new = ("member", "kicked") if blocked else ("kicked", "member")
    return {
        "my_chat_member": {
            "chat": private_chat(sender),
            "from": sender,
            "old_chat_member": {"status": old, "user": bot},
            "new_chat_member": {"status": new, "user": bot},
        }
    }
