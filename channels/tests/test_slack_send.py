"""The Slack adapter's sending against the Slack stand-in and a real Redis: an answer becomes
its posts, in its conversation and thread, with its buttons; a long answer whose later post is
rate limited resumes after the posts that went, so none is posted twice; posts to one
conversation keep Slack's pace."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from channels.src.adapters.base import AdapterContext
from channels.src.adapters.slack import SlackAdapter
from channels.src.intake import Intake
from channels.src.settings import Settings
from common.infrastructure.channels import Channel, channel_chat_number
from common.infrastructure.errors import RetryLater, Undeliverable
from common.infrastructure.queue_messages import Button, OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from sandbox.slack_api import SlackStandIn

TEAM = "T0SANDBOX1"


@pytest.fixture
async def adapter(slack: SlackStandIn, redis: aioredis.Redis) -> AsyncIterator[SlackAdapter]:
    settings = Settings(
        _env_file=None, environment="test", slack_bot_token=SecretStr(slack.token),
        slack_signing_secret=SecretStr(slack.signing_secret), slack_api_base=slack.api_base,
    )  # fmt: skip
    names = Names(f"test:slack:{uuid.uuid4().hex[:8]}:")
    rest = RestClient("http://127.0.0.1:9", "unused")  # sending asks rest_service nothing
    made = SlackAdapter(AdapterContext(settings, redis, names, Intake(rest, redis, names), rest))
    await made.start()
    yield made
    await made.stop()


def answer(channel: str, text: str, **fields: Any) -> OutgoingMessage:
    chat = f"{TEAM}:{channel}"
    return OutgoingMessage(
        message_id=uuid.uuid4(), chat_id=channel_chat_number(Channel.SLACK, chat), text=text,
        channel=Channel.SLACK, channel_chat_id=chat, **fields,
    )  # fmt: skip


async def test_an_answer_is_posted_in_its_thread_with_its_buttons(
    slack: SlackStandIn, adapter: SlackAdapter
) -> None:
    buttons = [[Button(text="Done", data="b1:dn:x:")]]
    await adapter.send(
        answer("C0GENERAL1", "**Hi**", channel_thread_id="1700000000.000100", buttons=buttons)
    )
    (posted,) = slack.posted_to("C0GENERAL1")
    assert posted.sections == ["*Hi*"] and posted.thread_ts == "1700000000.000100"
    assert [b["value"] for b in posted.buttons] == ["b1:dn:x:"]


async def test_a_long_answer_limited_halfway_resumes_after_what_went(
    slack: SlackStandIn, adapter: SlackAdapter
) -> None:
    long = "\n\n".join(f"paragraph {i} " + "word " * 500 for i in range(20))  # ~50 000 chars
    message = answer("D0ANNA0001", long)
    slack.fail("chat.postMessage", status=429, retry_after=2, channel="D0ANNA0001", after=1)
    with pytest.raises(RetryLater) as retry:
        await adapter.send(message)
    assert retry.value.delay == 2
    assert len(slack.posted_to("D0ANNA0001")) == 1
    await adapter.send(message)
    posts = slack.posted_to("D0ANNA0001")
    assert len(posts) == 2
    assert "".join("".join(p.text.split()) for p in posts) == "".join(long.split())


async def test_posts_to_one_conversation_keep_slacks_pace(
    slack: SlackStandIn, adapter: SlackAdapter
) -> None:
    for text in ("one", "two", "three"):
        await adapter.send(answer("D0PACE0001", text))
    assert len(slack.posted_to("D0PACE0001")) == 3
    assert slack.too_fast("D0PACE0001") == 0


async def test_an_answer_without_its_slack_conversation_is_undeliverable(
    adapter: SlackAdapter,
) -> None:
    message = answer("D0ANNA0001", "hi").model_copy(update={"channel_chat_id": "nocolon"})
    with pytest.raises(Undeliverable):
        await adapter.send(message)
