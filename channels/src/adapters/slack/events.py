"""What Slack delivers, as `Inbound` messages: Events API callbacks (a direct message, a
mention in a channel) and interactivity payloads (a press on one of our buttons).

Everything here reads untrusted JSON (signed, but shaped by whatever Slack and its clients
send) and never raises: what is not a message for the secretary is None. The ids are
checked to look like Slack's, so nothing odd reaches the identities or the queue."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from channels.src.intake import Inbound
from common.features.buttons import decode
from common.infrastructure.channels import Channel
from common.infrastructure.queue_messages import AttachmentKind

Json = dict[str, Any]

#: A team, channel, user or bot id (`T024BE7LD`, `C0G9QF9GZ`, `U2147483697`).
_ID = re.compile(r"[A-Z0-9]{2,40}")
#: A message timestamp, Slack's id of a message in its channel (`1355517523.000005`).
_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}")
#: A held call's token (`IncomingMessage.confirmed`).
#: Slack's markup in a message's text: `<@U123>`, `<#C123|general>`, `<!here>`, `<url|label>`.
_MARKUP = re.compile(r"<([^<>]*)>")
#: Subtypes of a message a person wrote (a file's text is taken, the file not yet).
_WRITTEN = (None, "file_share", "thread_broadcast")
#: A file's id (`F0123ABCD`).
_FILE_ID = _ID
#: Files taken from one message, at most.
MAX_FILES = 10
#: Longest text taken from one message: a Slack message holds at most 40 000 characters.
MAX_TEXT = 40_000


def slack_id(value: object) -> str | None:
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def slack_ts(value: object) -> str | None:
    return value if isinstance(value, str) and _TS.fullmatch(value) else None


def conversation(team: str, channel: str) -> str:
    """`channel_chat_id` of a Slack conversation: the channel in its workspace, `T…:C…`."""
    return f"{team}:{channel}"


def slack_channel(channel_chat_id: str) -> str:
    """The Slack channel id of a `channel_chat_id` (`T…:C…` → `C…`)."""
    return channel_chat_id.rsplit(":", 1)[-1]


def is_direct(channel: str) -> bool:
    """A direct message conversation (Slack's `im`): its id starts with D."""
    return channel.startswith("D")


def plain_text(text: str, bot_user: str | None) -> str:
    """A message's text as a person reads it: our own mention dropped, the others as `@U…`,
    channels as `#name`, links as `label (url)`, Slack's three escapes undone."""

    def shown(found: re.Match[str]) -> str:
        inner = found[1]
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "" if bot_user and target[1:] == bot_user else f"@{label or target[1:]}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            return f"@{label or target[1:].split('^')[0]}"
        return f"{label} ({target})" if label and label != target else target

    unmarked = _MARKUP.sub(shown, _readable(text))
    return unmarked.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _readable(text: str) -> str:
    """Text that JSON may carry and UTF-8 may not: lone surrogates replaced, NULs dropped."""
    return text.encode("utf-8", "replace").decode().replace("\x00", "")


def _sent_at(ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def bot_user_of(envelope: Json) -> str | None:
    """Our bot's own user id in this workspace (`authorizations`), to ignore our messages and
    our mention."""
    authorizations = envelope.get("authorizations")
    if isinstance(authorizations, list):
        for authorization in authorizations:
            if isinstance(authorization, dict) and authorization.get("is_bot"):
                return slack_id(authorization.get("user_id"))
    return None


def event_inbound(envelope: Json) -> Inbound | None:
    """The message an `event_callback` carries for the secretary: a direct message to the bot
    or a mention of it in a channel; None for anything else (edits, bots, our own posts)."""
    event = envelope.get("event")
    team = slack_id(envelope.get("team_id"))
    if not isinstance(event, dict) or team is None:
        return None
    kind = event.get("type")
    if kind == "message" and event.get("channel_type") == "im":
        group = False
    elif kind == "app_mention":
        group = True
    else:
        return None
    if (
        event.get("subtype", None) not in _WRITTEN
        or event.get("bot_id")
        or event.get("bot_profile")
    ):
        return None  # edits, joins, and every bot's message: ours would loop
    channel = slack_id(event.get("channel"))
    user = slack_id(event.get("user"))
    ts = slack_ts(event.get("ts"))
    text = event.get("text")
    bot_user = bot_user_of(envelope)
    if channel is None or user is None or ts is None or not isinstance(text, str):
        return None
    if user == bot_user:
        return None
    thread = slack_ts(event.get("thread_ts"))
    plain = plain_text(text, bot_user).strip()[:MAX_TEXT]
    if not plain and not event_files(envelope):
        return None
    return Inbound(
        channel=Channel.SLACK,
        account=team,
        message_id=f"{channel}:{ts}",
        chat_id=conversation(team, channel),
        sender_id=f"{team}:{user}",
        text=plain,
        group=group,
        # a mention is answered in its thread (a new one under the mention); a direct
        # message in the thread it was written in, if any
        thread_id=(thread or ts) if group else thread,
        sent_at=_sent_at(ts),
    )


@dataclass(frozen=True)
class SlackFile:
    """A file shared with a message, as the event describes it (its bytes are fetched from
    `url` with the bot token)."""

    id: str
    kind: AttachmentKind
    url: str
    size: int
    name: str | None
    mime_type: str | None


def event_files(envelope: Json) -> list[SlackFile]:
    """The files of the envelope's message the assistant can read: voice clips and audio,
    documents and pictures (a picture is a document with an image type, as the assistant reads
    it); no video."""
    event = envelope.get("event")
    files = event.get("files") if isinstance(event, dict) else None
    if not isinstance(files, list):
        return []
    found = [f for f in (_file(raw) for raw in files[:MAX_FILES]) if f is not None]
    return found


def _file(raw: object) -> SlackFile | None:
    if not isinstance(raw, dict):
        return None
    file_id = slack_id(raw.get("id"))
    url = raw.get("url_private_download") or raw.get("url_private")
    size = raw.get("size")
    mime = raw.get("mimetype")
    mime = mime if isinstance(mime, str) and len(mime) <= 100 else None
    if file_id is None or not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return None
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        return None
    kind = _kind(raw.get("subtype"), mime or "")
    if kind is None:
        return None
    name = raw.get("name")
    name = _readable(name).strip()[:255] or None if isinstance(name, str) else None
    return SlackFile(file_id, kind, url, size, name, mime)


def _kind(subtype: object, mime: str) -> AttachmentKind | None:
    if subtype == "slack_audio":
        return AttachmentKind.VOICE
    if mime.startswith("audio/"):
        return AttachmentKind.AUDIO
    if mime.startswith("video/"):
        return None
    return AttachmentKind.DOCUMENT


@dataclass(frozen=True)
class Press:
    """A press on one of our buttons: who pressed where (`inbound`, its text the label), the
    button's data (`Button.data`) and its label."""

    inbound: Inbound
    data: str
    label: str


def pressed(payload: Json) -> Press | None:
    """The press a `block_actions` payload carries; None for a link button (it opened its
    page), a button that is not ours, or anything else."""
    if payload.get("type") != "block_actions":
        return None
    team = slack_id(_field(payload, "team", "id"))
    user = slack_id(_field(payload, "user", "id"))
    channel = slack_id(_field(payload, "container", "channel_id")) or slack_id(
        _field(payload, "channel", "id")
    )
    actions = payload.get("actions")
    if team is None or user is None or channel is None or not isinstance(actions, list):
        return None
    action = next((a for a in actions if isinstance(a, dict)), None)
    if action is None:
        return None
    value, label = action.get("value"), _field(action, "text", "text")
    action_ts = slack_ts(action.get("action_ts"))
    if not isinstance(value, str) or not isinstance(label, str) or action_ts is None:
        return None
    text = _readable(label).strip()[:MAX_TEXT]
    if decode(value) is None or not text:
        return None
    thread = slack_ts(_field(payload, "container", "thread_ts")) or slack_ts(
        _field(payload, "message", "thread_ts")
    )
    inbound = Inbound(
        channel=Channel.SLACK,
        account=team,
        message_id=f"action:{action_ts}",
        chat_id=conversation(team, channel),
        sender_id=f"{team}:{user}",
        text=text,
        group=not is_direct(channel),
        thread_id=thread,
        username=_username(payload),
        sent_at=_sent_at(action_ts),
    )
    return Press(inbound, value, text)


def _field(data: Json, *path: str) -> object:
    found: object = data
    for key in path:
        if not isinstance(found, dict):
            return None
        found = found.get(key)
    return found


def _username(payload: Json) -> str | None:
    name = _field(payload, "user", "username")
    return _readable(name).strip()[:64] or None if isinstance(name, str) else None
