"""A message from another channel is answered in that channel: the answer names the same
channel, conversation and thread, replies to the message, and goes to the reply stream the
message named (the channels service's)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from assistant.tests.support import Deployment
from common.infrastructure.channels import Channel, channel_chat_number
from common.infrastructure.queue_messages import OutgoingKind, Source


@pytest.fixture(autouse=True)
async def running(deployment: Deployment) -> AsyncIterator[None]:
    await deployment.assistant()
    yield


async def test_a_whatsapp_message_is_answered_to_the_same_whatsapp_conversation(
    deployment: Deployment,
) -> None:
    wa = await deployment.user("Wanda")
    deployment.llm.reply("*Hello* from the secretary.")

    message = await deployment.send(
        wa,
        "hi",
        chat_id=channel_chat_number(Channel.WHATSAPP, "4915112345678"),
        channel=Channel.WHATSAPP,
        source=Source.WHATSAPP,
        channel_chat_id="4915112345678",
        channel_user_id="4915112345678",
        channel_message_id="wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFjNFQjA",
    )
    answer = await deployment.answer_to(message)

    assert answer.kind == OutgoingKind.REPLY
    assert answer.text == "*Hello* from the secretary."
    assert (answer.channel, answer.channel_chat_id, answer.chat_id) == (
        Channel.WHATSAPP,
        "4915112345678",
        message.chat_id,
    )
    assert answer.reply_to_channel_message_id == "wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFjNFQjA"


async def test_a_slack_mention_is_answered_in_its_thread(deployment: Deployment) -> None:
    sam = await deployment.user("Sam")
    deployment.llm.reply("On it.")

    message = await deployment.send(
        sam,
        "@secretary what is on today?",
        chat_id=channel_chat_number(Channel.SLACK, "T1:C024BE91L", group=True),
        group=True,
        channel=Channel.SLACK,
        source=Source.SLACK,
        channel_chat_id="T1:C024BE91L",
        channel_thread_id="1700000000.000100",
        channel_message_id="1700000001.000200",
    )
    answer = await deployment.answer_to(message)

    assert (answer.channel, answer.channel_chat_id) == (Channel.SLACK, "T1:C024BE91L")
    assert answer.channel_thread_id == "1700000000.000100"
    assert answer.reply_to_channel_message_id == "1700000001.000200"
