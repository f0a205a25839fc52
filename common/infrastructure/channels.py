"""The channels a person talks to the secretary through (docs/contract.md "Channels").

Telegram is tg_bot's; the others are the `channels` service's adapters. A message names its
channel and the channel's own ids; an answer goes back to the channel it came from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

from common.infrastructure.redis_keys import CHANNEL_DRAFTS, DRAFTS, TO_CHANNELS, TO_TELEGRAM


class Channel(StrEnum):
    """Where a message came from or goes: one registry of the names, used by queue messages,
    identities and bots alike. `api` is the public API's caller."""

    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    SLACK = "slack"
    EMAIL = "email"
    WEB = "web"
    API = "api"


#: The channels an answer's picture (`OutgoingMessage.photo_blob_key`) is shown in; the draw
#: tool refuses elsewhere rather than make a picture nobody sees.
PICTURE_CHANNELS = frozenset({Channel.TELEGRAM, Channel.WEB})

#: Derived chat numbers start here: above every Telegram chat id (which fit in 52 bits), so a
#: channel's conversation never shares a per-chat lock, limit or group key with a Telegram chat.
_DERIVED_BASE = 1 << 60
_DERIVED_SPAN = 1 << 59


def channel_chat_number(channel: Channel, channel_chat_id: str, *, group: bool = False) -> int:
    """The `chat_id` of a conversation of another channel: a stable number made of the channel
    and its own conversation id (negative for a group, as Telegram's are), so every per-chat
    rule (order, locks, limits, a group's own thread) holds unchanged."""
    if channel is Channel.TELEGRAM:
        raise ValueError("a Telegram chat has its own chat_id")
    digest = hashlib.sha256(f"{channel.value}:{channel_chat_id}".encode()).digest()
    number = _DERIVED_BASE + int.from_bytes(digest[:8], "big") % _DERIVED_SPAN
    return -number if group else number


def is_derived_chat(chat_id: int) -> bool:
    """True for a chat number made by `channel_chat_number`, never for a Telegram chat."""
    return abs(chat_id) >= _DERIVED_BASE


def answer_stream(channel: Channel) -> str:
    """Where answers for a channel go: tg_bot reads Telegram's, the channels service the rest."""
    return TO_TELEGRAM if channel is Channel.TELEGRAM else TO_CHANNELS


#: The channels a person's answers are shown in as they are written (drafts): Telegram (tg_bot)
#: and those of the channels service that can (the web chat, the public API's streams).
DRAFTED_CHANNELS = frozenset({Channel.TELEGRAM, Channel.WEB, Channel.API})


def draft_stream(channel: Channel) -> str:
    """Where a drafted channel's drafts go: tg_bot reads Telegram's, the channels service the
    rest."""
    return DRAFTS if channel is Channel.TELEGRAM else CHANNEL_DRAFTS


@dataclass(frozen=True)
class ChannelAddress:
    """A conversation in a channel other than Telegram, as kept in Redis (`Names.channel_home`:
    where a person without Telegram last wrote from)."""

    channel: Channel
    channel_chat_id: str

    @property
    def chat_id(self) -> int:
        return channel_chat_number(self.channel, self.channel_chat_id)

    def to_json(self) -> str:
        return json.dumps({"channel": self.channel.value, "channel_chat_id": self.channel_chat_id})

    @classmethod
    def parse(cls, raw: str | bytes) -> ChannelAddress | None:
        """None for what is not one (an older or broken value)."""
        try:
            found = json.loads(raw)
            return cls(Channel(found["channel"]), str(found["channel_chat_id"]))
        except (ValueError, KeyError, TypeError):
            return None
