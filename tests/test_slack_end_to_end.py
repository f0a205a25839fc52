"""Slack end to end, every service a real process and Slack the stand-in (sandbox/slack_api.py):
a direct message is answered in mrkdwn, a mention in its thread, a press on a fired reminder's
button reaches the secretary, a reminder made in Slack fires in Slack; a forged or stale request
is refused, an event Slack delivers again is answered once, and a 429 from `chat.postMessage`
delays the answer without doubling it; a restart of channels mid-turn posts the answer once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis.asyncio as aioredis

from common.infrastructure.redis_keys import TO_CHANNELS
from sandbox import slack_events as build
from sandbox.llm_server import Step
from sandbox.slack_api import Posted, SlackStandIn
from tests.harness import MigratedDatabases
from tests.streams import any_entry_with, stream_entries
from tests.system import System, running_system
from tests.waiting import until

pytestmark = pytest.mark.e2e

Slack = tuple[System, SlackStandIn]


@pytest.fixture(scope="module")
def slack_system(
    migrated_databases: MigratedDatabases,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Slack]:
    slack = SlackStandIn(signing_secret=uuid.uuid4().hex).start_in_thread()
    prefix = f"{session_prefix}slack-{uuid.uuid4().hex[:6]}:"
    workdir = tmp_path_factory.mktemp("slack")
    try:
        with running_system(
            migrated_databases, redis_url, prefix, secrets, workdir,
            {"channels": slack.settings()},
        ) as system:  # fmt: skip
            yield system, slack
    finally:
        slack.stop_thread()


def an_id(first: str) -> str:
    return first + uuid.uuid4().hex[:10].upper()


def events_url(system: System) -> str:
    return f"{system.stack.processes['channels'].url}/slack/events"


def actions_url(system: System) -> str:
    return f"{system.stack.processes['channels'].url}/slack/interactivity"


async def posts(slack: SlackStandIn, channel: str, count: int, what: str) -> list[Posted]:
    found: list[Posted] = await until(
        lambda: slack.posted_to(channel) if len(slack.posted_to(channel)) >= count else None,
        60,
        what,
    )
    return found


@pytest.mark.timeout(120)
async def test_a_direct_message_is_answered_in_mrkdwn(slack_system: Slack) -> None:
    system, slack = slack_system
    user, dm = an_id("U"), an_id("D")
    system.llm.reply("**Booked** for _Friday_, see [the plan](https://ex.com/p?a=1&b=2)",
                     contains="book me for friday")  # fmt: skip
    delivery = await slack.deliver_event(
        events_url(system), build.envelope(build.direct_message(user, dm, "book me for friday"))
    )
    assert delivery.statuses == [200]
    (answer,) = await posts(slack, dm, 1, "the answer in the direct message")
    assert answer.sections == ["*Booked* for _Friday_, see <https://ex.com/p?a=1&amp;b=2|the plan>"]
    assert answer.thread_ts is None


@pytest.mark.timeout(120)
async def test_a_mention_is_answered_in_its_thread(slack_system: Slack) -> None:
    system, slack = slack_system
    user, channel = an_id("U"), an_id("C")
    system.llm.reply("Stand-up is at 10.", contains="when is stand-up?")
    mention = build.mention(user, channel, "when is stand-up?")
    delivery = await slack.deliver_event(events_url(system), build.envelope(mention))
    assert delivery.statuses == [200]
    (answer,) = await posts(slack, channel, 1, "the answer in the channel")
    assert answer.sections == ["Stand-up is at 10."]
    assert answer.thread_ts == mention["ts"]
    asked = system.request_about("when is stand-up?")
    assert build.BOT_USER not in str(asked.messages)


@pytest.mark.timeout(150)
async def test_a_reminder_made_in_slack_fires_in_slack_and_its_button_is_pressed(
    slack_system: Slack,
) -> None:
    system, slack = slack_system
    user, dm = an_id("U"), an_id("D")
    due = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    create = {"action": "create", "text": "stretch your back", "when": due.isoformat()}
    system.llm.call("reminder", create, contains="remind me to stretch")
    await slack.deliver_event(
        events_url(system), build.envelope(build.direct_message(user, dm, "remind me to stretch"))
    )
    fired: Posted = await until(
        lambda: next((p for p in slack.posted_to(dm) if "⏰ stretch" in p.text), None),
        60,
        "the reminder fired in the direct message",
    )
    done = next(b for b in fired.buttons if b.get("value", "").startswith("b1:dn:"))
    label = done["text"]["text"]
    before = len(slack.posted_to(dm))
    pressed = build.block_actions(user, dm, fired.ts, done)
    delivery = await slack.deliver_action(actions_url(system), pressed)
    assert delivery.statuses == [200]
    after = await posts(slack, dm, before + 1, "the answer to the press")
    # Done acts at once, as in Telegram (it stops an urgent reminder's repeats): no model
    assert after[-1].sections == ["Done."]
    assert not system.requests_about(label)


@pytest.mark.timeout(60)
async def test_slacks_url_check_is_answered_with_its_challenge(slack_system: Slack) -> None:
    system, slack = slack_system
    body, kind = build.event_body(
        build.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    )
    async with httpx.AsyncClient() as http:
        answered = await http.post(
            events_url(system), content=body, headers=slack.signed_headers(body, kind)
        )
    assert answered.status_code == 200
    assert answered.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


@pytest.mark.timeout(60)
async def test_a_forged_signature_and_a_stale_timestamp_are_refused(slack_system: Slack) -> None:
    system, slack = slack_system
    body, kind = build.event_body(
        build.envelope(build.direct_message(an_id("U"), an_id("D"), "hi"))
    )
    forged = {**slack.signed_headers(body, kind), "X-Slack-Signature": "v0=" + "0" * 64}
    stale = slack.signed_headers(body, kind, timestamp=int(datetime.now(UTC).timestamp()) - 600)
    for headers in (forged, stale):
        refused = await slack.deliver(events_url(system), body, kind, retries=0, headers=headers)
        assert refused.statuses == [401]
    action, action_kind = build.interactivity_body({"type": "block_actions"})
    headers = {**slack.signed_headers(action, action_kind), "X-Slack-Signature": "v0=00"}
    refused = await slack.deliver(
        actions_url(system), action, action_kind, retries=0, headers=headers
    )
    assert refused.statuses == [401]


@pytest.mark.timeout(120)
async def test_an_event_slack_delivers_again_is_answered_once(slack_system: Slack) -> None:
    system, slack = slack_system
    user, dm = an_id("U"), an_id("D")
    system.llm.reply("Once.", contains="say it once")
    event = build.envelope(build.direct_message(user, dm, "say it once"))
    await slack.deliver_event(events_url(system), event)
    await posts(slack, dm, 1, "the first answer")
    again = await slack.deliver_event(events_url(system), event, headers=None)
    assert again.statuses == [200]
    # the same message as a new event (another event id): the intake knows its ts
    renamed = {**event, "event_id": "Ev0RENAMED1"}
    assert (await slack.deliver_event(events_url(system), renamed)).statuses == [200]
    system.llm.reply("And done.", contains="anything else?")
    await slack.deliver_event(
        events_url(system), build.envelope(build.direct_message(user, dm, "anything else?"))
    )
    answers = await posts(slack, dm, 2, "the answer after the repeats")
    assert [a.sections for a in answers] == [["Once."], ["And done."]]


@pytest.mark.timeout(120)
async def test_a_429_from_slack_is_waited_out_and_the_answer_posted_once(
    slack_system: Slack,
) -> None:
    system, slack = slack_system
    user, dm = an_id("U"), an_id("D")
    slack.fail("chat.postMessage", status=429, retry_after=1, channel=dm)
    system.llm.reply("Worth the wait.", contains="are you busy?")
    await slack.deliver_event(
        events_url(system), build.envelope(build.direct_message(user, dm, "are you busy?"))
    )
    (answer,) = await posts(slack, dm, 1, "the answer after the 429")
    assert answer.sections == ["Worth the wait."]
    assert ("chat.postMessage", 429, "ratelimited") in slack.rejected
    system.llm.reply("Still here.", contains="still there?")
    await slack.deliver_event(
        events_url(system), build.envelope(build.direct_message(user, dm, "still there?"))
    )
    answers = await posts(slack, dm, 2, "the next answer")
    assert [a.sections for a in answers] == [["Worth the wait."], ["Still here."]]


@pytest.mark.timeout(120)
async def test_a_document_shared_in_a_direct_message_is_read(slack_system: Slack) -> None:
    system, slack = slack_system
    user, dm = an_id("U"), an_id("D")
    notes = slack.add_file(b"The door code is 4711.\n", "notes.txt", "text/plain")
    system.llm.reply("It says the door code is 4711.", contains="what does it say?")
    event = build.direct_message(user, dm, "what does it say?", files=[notes])
    delivery = await slack.deliver_event(events_url(system), build.envelope(event))
    assert delivery.statuses == [200]
    (answer,) = await posts(slack, dm, 1, "the answer about the document")
    assert answer.sections == ["It says the door code is 4711."]
    assert "The door code is 4711." in str(system.request_about("what does it say?").messages)


@pytest.mark.timeout(120)
async def test_a_file_slack_cannot_give_is_left_out_on_its_last_try(slack_system: Slack) -> None:
    system, slack = slack_system
    user, dm = an_id("U"), an_id("D")
    notes = slack.add_file(b"unreachable", "later.txt", "text/plain")
    system.llm.reply("Your text came, the file did not.", contains="here is the file")
    event = build.direct_message(user, dm, "here is the file", files=[notes])
    slack.files_down = True
    try:
        delivery = await slack.deliver_event(events_url(system), build.envelope(event))
    finally:
        slack.files_down = False
    assert delivery.statuses == [500, 500, 500, 200]
    (answer,) = await posts(slack, dm, 1, "the answer without the file")
    assert answer.sections == ["Your text came, the file did not."]
    assert "unreachable" not in str(system.request_about("here is the file").messages)


@pytest.mark.timeout(150)
async def test_a_restart_of_channels_mid_turn_posts_the_answer_once(slack_system: Slack) -> None:
    """The answer is written while channels is down: it waits on `queue:to_channels` and is
    posted once channels is back."""
    system, slack = slack_system
    user, dm = an_id("U"), an_id("D")
    system.llm.script(Step(text="Posted after the restart.", delay=2.0, contains="slow one"))
    delivery = await slack.deliver_event(
        events_url(system), build.envelope(build.direct_message(user, dm, "a slow one"))
    )
    assert delivery.statuses == [200]
    await until(lambda: system.requests_about("slow one"), 30, "the model asked")
    channels = system.stack.processes["channels"]
    await asyncio.to_thread(channels.stop)
    try:
        await until(lambda: answer_queued(system, "Posted after the restart."), 30, "queued")
    finally:
        await asyncio.to_thread(channels.start, system.stack.workdir)
    (answer,) = await posts(slack, dm, 1, "the answer after the restart")
    assert answer.sections == ["Posted after the restart."]
    assert len(slack.posted_to(dm)) == 1


async def answer_queued(system: System, text: str) -> bool:
    redis = aioredis.Redis.from_url(system.stack.env["REDIS_URL"])
    try:
        entries = await stream_entries(redis, system.names.stream(TO_CHANNELS))
    finally:
        await redis.aclose()
    return any_entry_with(entries, text)
