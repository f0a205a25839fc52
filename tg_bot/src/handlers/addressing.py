"""Whether a message is for the bot, and what it says to it: commands (`/cmd`, `/cmd@bot`),
mentions (`@bot`, or a `text_mention` of the bot) found through the message's entities, and
replies to the bot's own messages. Entity offsets are UTF-16 code units, as Telegram counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tg_bot.src.clients.types import TgEntity, TgMessage

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{3,32}))?(?:\s+(.*))?$", re.DOTALL)
_LEADING = " \t\n,:;—-"


@dataclass(frozen=True)
class CommandCall:
    name: str  # lower-case, without the slash
    args: str
    bot_username: str | None  # the `@bot` part, when given


def parse_command(text: str) -> CommandCall | None:
    found = _COMMAND.match(text.strip())
    if found is None:
        return None
    return CommandCall(found.group(1).lower(), (found.group(3) or "").strip(), found.group(2))


def addressed_text(message: TgMessage, bot_id: int, bot_username: str) -> str | None:
    """In a group: the text meant for the bot (mentions stripped), or None when the message
    is not for it (no mention, not a reply to it, not its command)."""
    text = message.body
    command = parse_command(text)
    if command is not None:
        to = command.bot_username
        return text.strip() if to is None or to.lower() == bot_username.lower() else None
    mentions = [e for e in message.body_entities if _mentions_bot(text, e, bot_id, bot_username)]
    replied = message.reply_to_message
    is_reply = replied is not None and replied.sender is not None and replied.sender.id == bot_id
    if not mentions and not is_reply:
        return None
    return strip_spans(text, mentions)


def _mentions_bot(text: str, entity: TgEntity, bot_id: int, bot_username: str) -> bool:
    if entity.type == "text_mention":
        return entity.user is not None and entity.user.id == bot_id
    if entity.type == "mention":
        return utf16_slice(text, entity.offset, entity.length).lower() == f"@{bot_username}".lower()
    return False


def utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def strip_spans(text: str, entities: list[TgEntity]) -> str:
    """`text` without the entities' spans, tidied where they were cut out."""
    encoded = text.encode("utf-16-le")
    pieces, cursor = [], 0
    for entity in sorted(entities, key=lambda e: e.offset):
        start = max(cursor, entity.offset * 2)
        pieces.append(encoded[cursor:start].decode("utf-16-le", errors="replace"))
        cursor = max(cursor, (entity.offset + entity.length) * 2)
    pieces.append(encoded[cursor:].decode("utf-16-le", errors="replace"))
    result = pieces[0]
    for piece in pieces[1:]:
        result = _tidy(result, piece)
    return result.strip()


def _tidy(left: str, right: str) -> str:
    """Join the text around a removed mention: "@bot, hi" → "hi"; "thanks, @bot" → "thanks";
    "what do you think, @bot?" → "what do you think?"; "ask @bot now" → "ask now"."""
    left = left.rstrip()
    if not left:
        return right.lstrip(_LEADING)
    if not right.strip():
        return left.rstrip(",:;—- ")
    if right.lstrip()[:1] in ",.!?;:":
        return left.rstrip(",:;—- ") + right.lstrip()
    return f"{left} {right.lstrip()}"
