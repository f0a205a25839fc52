"""Slack's deliveries as Slack shapes them (https://api.slack.com/apis/events-api,
https://api.slack.com/reference/interaction-payloads/block-actions): an `event_callback` with a
direct message or a mention, a `url_verification`, a `block_actions` press, for tests and the
Slack stand-in (sandbox/slack_api.py) to deliver."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

Json = dict[str, Any]

TEAM = "T0SANDBOX1"
APP = "A0SANDBOX1"
#: The bot's own user in the sandbox workspace.
BOT_USER = "U0SANDBOT1"
BOT_ID = "B0SANDBOT1"

_counter = itertools.count(1)


def next_ts() -> str:
    """A fresh message timestamp, as Slack makes them (seconds, a dot, six digits)."""
    return f"{int(time.time())}.{next(_counter) % 1_000_000:06d}"


def envelope(event: Json, *, team: str = TEAM, event_id: str | None = None) -> Json:
    return {
        "token": "XXYYZZ",
        "team_id": team,
        "context_team_id": team,
        "api_app_id": APP,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev0{next(_counter):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team,
                "user_id": BOT_USER,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMCJ9",
    }


def direct_message(
    user: str,
    channel: str,
    text: str,
    *,
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = TEAM,
    files: list[Json] | None = None,
) -> Json:
    """A `message.im` event: `user` writes to the bot in their direct conversation (sharing
    `files`, objects the stand-in's `add_file` made)."""
    event: Json = {
        "client_msg_id": "5d3c4cd1-4f67-4b5e-a5b5-0c9a0d6c1a11",
        "type": "message",
        "text": text,
        "user": user,
        "ts": ts or next_ts(),
        "blocks": [{"type": "rich_text", "block_id": "Xy1", "elements": []}],
        "team": team,
        "channel": channel,
        "event_ts": ts or next_ts(),
        "channel_type": "im",
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    if files:
        event.update(subtype="file_share", files=files, upload=False)
    return event


def mention(
    user: str,
    channel: str,
    text: str,
    *,
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = TEAM,
) -> Json:
    """An `app_mention` event: `<@bot> text` in a channel."""
    stamp = ts or next_ts()
    event: Json = {
        "client_msg_id": "7e1c1a2b-90b1-4d0f-8f7e-2f0b1c2d3e4f",
        "type": "app_mention",
        "text": f"<@{BOT_USER}> {text}",
        "user": user,
        "ts": stamp,
        "team": team,
        "channel": channel,
        "event_ts": stamp,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def bot_message(channel: str, text: str) -> Json:
    """Our own post echoed back as a `message.im` event: never to be answered."""
    return {
        "type": "message",
        "subtype": "bot_message",
        "text": text,
        "ts": next_ts(),
        "bot_id": BOT_ID,
        "channel": channel,
        "event_ts": next_ts(),
        "channel_type": "im",
    }


def url_verification(challenge: str) -> Json:
    return {"token": "XXYYZZ", "challenge": challenge, "type": "url_verification"}


def block_actions(
    user: str,
    channel: str,
    message_ts: str,
    button: Json,
    *,
    thread_ts: str | None = None,
    team: str = TEAM,
) -> Json:
    """A press on `button` (an element of the posted message's `actions` block)."""
    container: Json = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if thread_ts is not None:
        container["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "anna", "name": "anna", "team_id": team},
        "api_app_id": APP,
        "token": "XXYYZZ",
        "container": container,
        "trigger_id": "1234567890123.1234567890123.abcdef0123456789abcdef0123456789",
        "team": {"id": team, "domain": "sandbox"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "directmessage"},
        "message": {"type": "message", "ts": message_ts, "bot_id": BOT_ID, "text": "…"},
        "state": {"values": {}},
        "response_url": "https://hooks.slack.com/actions/T0/1/abc",
        "actions": [
            {
                "action_id": button.get("action_id", "b0.0"),
                "block_id": "blk",
                "text": button.get("text", {"type": "plain_text", "text": "?"}),
                "value": button.get("value"),
                "type": "button",
                "action_ts": next_ts(),
            }
        ],
    }


def event_body(payload: Json) -> tuple[bytes, str]:
    """An Events API request's body and content type."""
    return json.dumps(payload).encode(), "application/json"


def interactivity_body(payload: Json) -> tuple[bytes, str]:
    """An interactivity request's body (`payload` form-encoded) and content type."""
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
