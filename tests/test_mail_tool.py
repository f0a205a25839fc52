"""The mail tool against the real calendar service and the Gmail stand-in: reading and
drafting at once, every send / reply / archive / label held for the user's Yes with exactly
what it would do, the Yes run once, mail read as outside content, the link when mail is not
allowed, the group refusal; and what models write as arguments (corpus and hypothesis)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.clients.llm import ToolCall
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.mail_tool import MailTool
from assistant.src.tools.outside import OUTSIDE_KEY, OutsideContent
from assistant.src.tools.toolbox import Toolbox
from assistant.tests.support import tool_spec
from common.features.confirmations import Confirmations, HeldCall
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import User
from ops.services import ROOT
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, connect
from tests.test_calendar_tool_actions import cal_rest, tool_services
from tests.tiers import examples
from tests.users import make_user

__all__ = ["cal_rest", "tool_services"]

SCHEMA = next(
    t["input_schema"]
    for t in json.loads((ROOT / "rest_service/seed/default_config.json").read_text())["tools"]
    if t["name"] == "mail"
)


@pytest.fixture
def tool(tool_services: ToolServices) -> MailTool:
    return MailTool(tool_spec("mail", input_schema=SCHEMA), tool_services)


@pytest.fixture
async def user(api: httpx.AsyncClient, browser: Browser, cal_rest: RestClient) -> User:
    """A user whose Google connection allows mail."""
    made = await make_user(cal_rest, "Europe/Berlin")
    link = (await api.get(f"/auth/url/{made.id}", params={"access": "mail"})).json()
    await browser.open(await browser.consent_redirect(link["auth_url"]))
    assert (await api.post(f"/auth/confirm/{made.id}")).json()["confirmed"]
    return made


@pytest.fixture
def anna(google: GoogleStandIn, browser: Browser, user: User) -> str:
    """Anna's unread message; its thread id."""
    [mail] = google.mail.seed(
        browser.email,
        [{"from": "Anna <anna@example.org>", "subject": "Lunch on Thursday?", "text": "Free?"}],
    )
    return mail.thread_id


def call(
    user: User,
    *,
    message_id: str = "m1",
    group: bool = False,
    yes: bool = False,
    channel: str = "telegram",
) -> ToolCallOrigin:
    actor = Actor(
        str(user.id),
        str(user.id),
        1,
        "Europe/Berlin",
        language="en",
        is_group=group,
        channel=channel,
    )
    return ToolCallOrigin(actor, message_id, uuid.UUID(int=1), "0", 0, confirmed=yes)


async def test_search_read_and_draft_happen_at_once(
    tool: MailTool, user: User, anna: str, google: GoogleStandIn, browser: Browser
) -> None:
    found = await tool.run({"action": "search"}, call(user))
    assert found["query"] == "in:inbox newer_than:1d"
    [message] = found["messages"]
    assert (message["thread_id"], message["unread"]) == (anna, True)
    read = await tool.run({"action": "read", "thread_id": anna}, call(user))
    assert read["messages"][0]["text"] == "Free?"
    draft = await tool.run(
        {"action": "draft", "thread_id": anna, "body": "Yes, Thursday works"}, call(user)
    )
    assert draft["status"] == "drafted" and draft["to"] == ["anna@example.org"]
    assert google.mail.mailbox(browser.email).sent == []


async def test_a_reply_is_held_with_what_it_sends_and_sent_once_on_yes(
    tool: MailTool,
    user: User,
    anna: str,
    google: GoogleStandIn,
    browser: Browser,
    redis: aioredis.Redis,
    names: Names,
) -> None:
    reply = {"action": "reply", "thread_id": anna, "body": "Yes, Thursday works"}
    held = await tool.run(reply, call(user))
    assert held["status"] == "confirmation_asked"
    assert held["would_do"] == (
        "Reply to Anna <anna@example.org> in 'Lunch on Thursday?': 'Yes, Thursday works'"
    )
    assert google.mail.mailbox(browser.email).sent == []
    [token] = await redis.lrange(names.confirmations_asked("m1"), 0, -1)
    asked = await Confirmations(redis, names).peek(
        token.decode() if isinstance(token, bytes) else token
    )
    assert isinstance(asked, HeldCall) and asked.arguments == reply

    first = await tool.run(reply, call(user, yes=True))
    again = await tool.run(reply, call(user, yes=True))  # the same call run twice
    assert (first["status"], again["status"]) == ("sent", "sent_already")
    [sent] = google.mail.mailbox(browser.email).sent
    assert sent["threadId"] == anna


async def test_send_archive_and_label_are_held_and_act_on_yes(
    tool: MailTool, user: User, anna: str, google: GoogleStandIn, browser: Browser
) -> None:
    send = {"action": "send", "to": ["bob@example.org"], "subject": "Hi", "body": "Hello Bob"}
    held = await tool.run(send, call(user))
    assert held["would_do"] == "Send to bob@example.org, subject 'Hi': 'Hello Bob'"
    message_id = (await tool.run({"action": "search"}, call(user)))["messages"][0]["message_id"]
    archive = {"action": "archive", "message_id": message_id}
    label = {"action": "label", "message_id": message_id, "label": "Family"}
    unlabel = {**label, "remove": True}
    shown = "'Lunch on Thursday?' from Anna <anna@example.org>"
    assert (await tool.run(archive, call(user)))["would_do"] == f"Archive {shown}"
    assert (await tool.run(label, call(user)))["would_do"] == f"Add the label 'Family' on {shown}"
    assert (await tool.run(unlabel, call(user)))["would_do"].startswith("Remove the label")
    assert google.mail.mailbox(browser.email).messages[message_id].labels == ["INBOX", "UNREAD"]

    await tool.run(archive, call(user, yes=True))
    labelled = await tool.run(label, call(user, yes=True))
    assert labelled["labels"] == ["UNREAD", "Family"]
    await tool.run(send, call(user, message_id="m2", yes=True))
    assert [s["threadId"] for s in google.mail.mailbox(browser.email).sent] != []


async def test_only_messages_shown_may_be_changed(tool: MailTool, user: User, anna: str) -> None:
    with pytest.raises(ToolError, match="not shown to the user"):
        await tool.run({"action": "archive", "message_id": "abc"}, call(user))


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"action": "read"}, "read needs thread_id"),
        ({"action": "send", "subject": "x", "body": "y"}, "send needs to"),
        ({"action": "send", "to": ["nope"], "body": "y"}, "to.0"),
        ({"action": "reply", "body": "y"}, "reply needs thread_id"),
        ({"action": "label", "message_id": "m"}, "not shown"),
        ({"action": "forward"}, "unknown action"),
    ],
)
async def test_what_cannot_be_done_is_said_to_the_model(
    tool: MailTool, user: User, arguments: dict[str, Any], says: str
) -> None:
    with pytest.raises(ToolError, match=says):
        await tool.run(arguments, call(user))


async def test_a_label_without_its_name_is_refused_on_yes(
    tool: MailTool, user: User, anna: str
) -> None:
    message_id = (await tool.run({"action": "search"}, call(user)))["messages"][0]["message_id"]
    with pytest.raises(ToolError, match="label needs label"):
        await tool.run({"action": "label", "message_id": message_id}, call(user, yes=True))


async def test_without_mail_allowed_the_answer_is_the_link(
    tool: MailTool, api: httpx.AsyncClient, browser: Browser, cal_rest: RestClient
) -> None:
    calendar_only = await make_user(cal_rest, "Europe/Berlin")
    await connect(api, browser, str(calendar_only.id))
    answer = await tool.run({"action": "search"}, call(calendar_only))
    assert answer["status"] == "mail_not_allowed" and "gmail.modify" in answer["connect_url"]
    assert "/calendar confirm" in answer["message"]
    stranger = await make_user(cal_rest, "Europe/Berlin")
    assert (await tool.run({"action": "search"}, call(stranger)))["status"] == "not_connected"


async def test_a_group_gets_nothing(tool: MailTool, user: User, anna: str) -> None:
    answer = await tool.run({"action": "search"}, call(user, group=True))
    assert answer["status"] == "private_chat_required"


async def test_mail_is_outside_content_and_what_follows_is_held(
    tool: MailTool, user: User, anna: str, cal_rest: RestClient
) -> None:
    outside = OutsideContent()
    box = Toolbox([tool], cal_rest, outside)
    [outcome] = await box.run_all(
        [ToolCall("c1", "mail", json.dumps({"action": "search"}))], [call(user)]
    )
    assert outside.taken
    assert OUTSIDE_KEY in json.loads(box.for_model(outcome).content)


async def test_a_gmail_that_refuses_is_said_plainly(
    tool: MailTool, user: User, anna: str, google: GoogleStandIn
) -> None:
    google.state.queue_fault("gmail.users.threads.get", 404)
    with pytest.raises(ToolError, match="no such message"):
        await tool.run({"action": "read", "thread_id": anna}, call(user))
    google.state.queue_fault("gmail.users.messages.list", 500, count=10)
    with pytest.raises(ToolError, match="Gmail is unavailable"):
        await tool.run({"action": "search"}, call(user))
    google.state.queue_fault("gmail.users.drafts.create", 400)
    with pytest.raises(ToolError, match="Gmail rejected"):
        await tool.run({"action": "draft", "to": ["a@b.co"], "body": "x"}, call(user))


_ARGUMENTS = st.fixed_dictionaries(
    {"action": st.sampled_from(["search", "read", "draft", "reply", "send", "archive", "label"])},
    optional={
        "query": st.text(max_size=40),
        "max": st.integers(-3, 30),
        "thread_id": st.text(max_size=12),
        "message_id": st.text(max_size=12),
        "to": st.lists(st.sampled_from(["a@b.co", "x", "", "c@d.org"]), max_size=3),
        "subject": st.text(max_size=20),
        "body": st.text(max_size=40),
        "label": st.text(max_size=10),
        "remove": st.booleans(),
    },
)


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(arguments=_ARGUMENTS)
async def test_any_arguments_are_an_answer_or_a_tool_error_and_nothing_is_sent(
    tool: MailTool,
    user: User,
    anna: str,
    google: GoogleStandIn,
    browser: Browser,
    cal_rest: RestClient,
    arguments: dict[str, Any],
) -> None:
    box = Toolbox([tool], cal_rest)
    outcome = await box.run(ToolCall("c", "mail", json.dumps(arguments)), call(user))
    if not outcome.ok:
        assert not str(outcome.error).startswith("internal error"), outcome.error
    assert google.mail.mailbox(browser.email).sent == []


async def test_a_briefing_gets_the_unread_inbox_or_skips_mail_silently(
    tool: MailTool,
    user: User,
    anna: str,
    google: GoogleStandIn,
    browser: Browser,
    cal_rest: RestClient,
    api: httpx.AsyncClient,
) -> None:
    google.mail.seed(browser.email, [{"subject": "Read already", "unread": False}])
    found = await tool.run({"action": "search"}, call(user, channel="cron"))
    assert found["query"] == "in:inbox is:unread newer_than:1d"
    assert [m["thread_id"] for m in found["messages"]] == [anna]

    calendar_only = await make_user(cal_rest, "Europe/Berlin")
    another = dataclasses.replace(browser, email=f"{uuid.uuid4().hex[:10]}@example.com")
    await connect(api, another, str(calendar_only.id))  # an account that never allowed mail
    skipped = await tool.run({"action": "search"}, call(calendar_only, channel="cron"))
    assert skipped["status"] == "skipped"


async def test_nothing_found_and_a_service_down_are_said_plainly(
    tool: MailTool, user: User, anna: str
) -> None:
    found = await tool.run({"action": "search", "query": "from:nobody"}, call(user))
    assert (found["count"], found["messages"]) == (0, [])
    settings = tool.services.settings.model_copy(
        update={"google_calendar_service_url": "http://127.0.0.1:9"}
    )
    down = MailTool(tool.spec, dataclasses.replace(tool.services, settings=settings))
    with pytest.raises(ToolError, match="unreachable"):
        await down.run({"action": "search"}, call(user))


async def test_a_reply_and_an_archive_go_to_the_mailbox_the_mail_came_from(
    tool: MailTool,
    user: User,
    anna: str,
    api: httpx.AsyncClient,
    google: GoogleStandIn,
    browser: Browser,
) -> None:
    home = Browser(google, f"home-{uuid.uuid4().hex[:8]}@example.com", browser.service_url)
    assert (await connect(api, home, str(user.id), "mail")).status_code == 200
    [mum] = google.mail.seed(
        home.email, [{"from": "Mum <mum@home.example>", "subject": "Sunday?", "text": "Lunch?"}]
    )
    found = await tool.run({"action": "search"}, call(user))
    by_subject = {m["subject"]: m for m in found["messages"]}
    assert by_subject["Sunday?"]["account"] == home.email
    assert by_subject["Lunch on Thursday?"]["account"] == browser.email

    reply = {"action": "reply", "thread_id": mum.thread_id, "body": "Yes!"}
    held = await tool.run(reply, call(user))
    assert held["would_do"] == (
        f"Reply to Mum <mum@home.example> in 'Sunday?': 'Yes!' (from {home.email})"
    )
    read = await tool.run({"action": "read", "thread_id": mum.thread_id}, call(user))
    assert read["account"] == home.email
    named = {"action": "read", "thread_id": mum.thread_id, "account": "home"}
    assert (await tool.run(named, call(user)))["messages"][0]["text"] == "Lunch?"
    sent = await tool.run(reply, call(user, yes=True))
    assert (sent["status"], sent["account"]) == ("sent", home.email)
    assert google.mail.mailbox(browser.email).sent == []
    assert [s["threadId"] for s in google.mail.mailbox(home.email).sent] == [mum.thread_id]

    archive = {"action": "archive", "message_id": mum.id}
    assert (await tool.run(archive, call(user)))["would_do"].endswith(f"(from {home.email})")
    await tool.run(archive, call(user, yes=True))
    assert "INBOX" not in google.mail.mailbox(home.email).messages[mum.id].labels
    new = {"action": "send", "to": ["bob@example.org"], "body": "Hi", "account": "home-"}
    assert (await tool.run(new, call(user)))["would_do"].endswith(f"(from {home.email})")
    await tool.run(new, call(user, message_id="m2", yes=True))
    assert len(google.mail.mailbox(home.email).sent) == 2


async def test_a_message_remembered_in_an_older_shape_is_shown_again_first(
    tool: MailTool, user: User, redis: aioredis.Redis, names: Names
) -> None:
    key = names.mail_shown(str(user.id))
    await redis.hset(key, mapping={"old": "'Lunch' from Anna", "odd": "{}"})
    for message_id in ("old", "odd"):
        with pytest.raises(ToolError, match="not shown to the user"):
            await tool.run({"action": "archive", "message_id": message_id}, call(user))
