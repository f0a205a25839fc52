"""Slack's deliveries read as messages: a direct message and a mention become the sender's
message in their conversation (ids `team:channel`, `team:user`, `channel:ts`), a mention is
answered in its thread, everything else (edits, bots, our own posts, other events) is nothing;
a press on Yes under a held call is its confirmation, any other of our buttons its label. Any
JSON at all is read without an error."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.src.adapters.slack.events import (
    event_files,
    event_inbound,
    plain_text,
    pressed,
)
from common.features.buttons import ButtonAction, ButtonData
from common.infrastructure.channels import Channel
from common.infrastructure.queue_messages import AttachmentKind
from sandbox import slack_events as build

Json = dict[str, Any]

ids = st.from_regex(r"[A-Z][A-Z0-9]{8,11}", fullmatch=True)
stamps = st.from_regex(r"1[0-9]{9}\.[0-9]{6}", fullmatch=True)
words = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="<>&\x00"), max_size=200
).filter(lambda t: t.strip())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=30,
)
EVENT_KEYS = [
    "type",
    "channel_type",
    "channel",
    "user",
    "ts",
    "thread_ts",
    "text",
    "subtype",
    "bot_id",
]


@given(
    team=ids, channel=ids.map(lambda i: "D" + i[1:]), user=ids, ts=stamps, text=words,
    thread=st.none() | stamps,
)  # fmt: skip
def test_a_direct_message_is_the_senders_message_in_their_conversation(
    team: str, channel: str, user: str, ts: str, text: str, thread: str | None
) -> None:
    if user == build.BOT_USER:
        return
    event = build.direct_message(user, channel, text, ts=ts, thread_ts=thread, team=team)
    inbound = event_inbound(build.envelope(event, team=team))
    assert inbound is not None
    assert inbound.channel is Channel.SLACK and inbound.account == team
    assert (inbound.chat_id, inbound.sender_id) == (f"{team}:{channel}", f"{team}:{user}")
    assert inbound.message_id == f"{channel}:{ts}"
    assert inbound.text == text.strip() and not inbound.group
    assert inbound.thread_id == thread


@given(
    team=ids, channel=ids.map(lambda i: "C" + i[1:]), user=ids, ts=stamps, text=words,
    thread=st.none() | stamps,
)  # fmt: skip
def test_a_mention_is_a_channel_message_answered_in_its_thread(
    team: str, channel: str, user: str, ts: str, text: str, thread: str | None
) -> None:
    if user == build.BOT_USER:
        return
    event = build.mention(user, channel, text, ts=ts, thread_ts=thread, team=team)
    inbound = event_inbound(build.envelope(event, team=team))
    assert inbound is not None and inbound.group
    assert build.BOT_USER not in inbound.text and inbound.text == text.strip()
    assert inbound.thread_id == (thread or ts)
    assert inbound.chat_id == f"{team}:{channel}"


@given(event=st.fixed_dictionaries({}, optional={k: json_values for k in EVENT_KEYS}))
def test_any_event_is_read_without_an_error(event: Json) -> None:
    inbound = event_inbound(build.envelope(event))
    if inbound is not None:
        assert inbound.text.strip() and inbound.chat_id.startswith(build.TEAM + ":")


@given(payload=json_values)
def test_any_payload_is_read_without_an_error(payload: object) -> None:
    if isinstance(payload, dict):
        event_inbound(payload)
        pressed(payload)


DM = build.direct_message("U0ANNA0001", "D0ANNA0001", "hello", ts="1700000000.000100")

#: Payloads as Slack's documentation shows them, with what each is.
CORPUS: dict[str, tuple[Json, str | None]] = {
    "direct-message": (build.envelope(DM), "hello"),
    "direct-message-with-markup": (
        build.envelope(
            {**DM, "text": "see <https://a.example/x?a=1&amp;b=2|this> &amp; tell <@U0BOB00001>"}
        ),
        "see this (https://a.example/x?a=1&b=2) & tell @U0BOB00001",
    ),
    "direct-message-with-a-file": (build.envelope({**DM, "subtype": "file_share"}), "hello"),
    "edited": (
        build.envelope(
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": "D0ANNA0001",
                "channel_type": "im",
                "ts": "1700000001.000200",
                "message": {"type": "message", "user": "U0ANNA0001", "text": "hi"},
            }
        ),
        None,
    ),
    "deleted": (build.envelope({**DM, "subtype": "message_deleted"}), None),
    "our-own-post": (build.envelope(build.bot_message("D0ANNA0001", "answer")), None),
    "our-own-user": (build.envelope({**DM, "user": build.BOT_USER}), None),
    "another-bot": (build.envelope({**DM, "bot_id": "B0OTHER001"}), None),
    "channel-message": (
        build.envelope({**DM, "channel": "C0GENERAL1", "channel_type": "channel"}),
        None,
    ),
    "mention": (
        build.envelope(build.mention("U0ANNA0001", "C0GENERAL1", "what's up?")),
        "what's up?",
    ),
    "mention-only": (build.envelope(build.mention("U0ANNA0001", "C0GENERAL1", "")), None),
    "reaction": (
        build.envelope(
            {
                "type": "reaction_added",
                "user": "U0ANNA0001",
                "reaction": "thumbsup",
                "item": {"type": "message", "channel": "C0GENERAL1", "ts": "1.2"},
            }
        ),
        None,
    ),
    "no-team": ({**build.envelope(DM), "team_id": None}, None),
    # a user token's authorization first, the bot's after it: our mention still goes
    "mention-with-a-users-authorization-first": (
        {
            **build.envelope(build.mention("U0ANNA0001", "C0GENERAL1", "ping")),
            "authorizations": [
                {"team_id": build.TEAM, "user_id": "U0ADMIN001", "is_bot": False},
                {"team_id": build.TEAM, "user_id": build.BOT_USER, "is_bot": True},
            ],
        },
        "ping",
    ),
    # no bot among the authorizations: nobody's mention is taken for ours
    "mention-without-the-bots-authorization": (
        {
            **build.envelope(build.mention("U0ANNA0001", "C0GENERAL1", "ping")),
            "authorizations": [{"team_id": build.TEAM, "user_id": "U0ADMIN001", "is_bot": False}],
        },
        f"@{build.BOT_USER} ping",
    ),
    "files-that-are-not-files": (
        build.envelope({**DM, "subtype": "file_share", "files": ["F0FILE0001", None, 7]}),
        "hello",
    ),
    "odd-ts": (build.envelope({**DM, "ts": "../../etc"}), None),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_slacks_own_payloads_are_read_as_slack_means_them(name: str) -> None:
    payload, text = CORPUS[name]
    inbound = event_inbound(payload)
    assert (inbound.text if inbound else None) == text


def test_our_mention_goes_and_others_stay() -> None:
    text = f"<@{build.BOT_USER}> ask <@U0BOB00001|bob> in <#C0GENERAL1|general> <!here>"
    assert plain_text(text, build.BOT_USER) == " ask @bob in #general @here"


TOKEN = "0123456789abcdef0123456789abcdef"


def press(value: str | None, label: str = "Yes", channel: str = "D0ANNA0001") -> Json:
    button = {"action_id": "b0.0", "text": {"type": "plain_text", "text": label}, "value": value}
    return build.block_actions("U0ANNA0001", channel, "1700000000.000100", button)


def test_a_press_carries_the_buttons_data_and_label_for_the_intake() -> None:
    """`Intake.press` decides what a press does (channels/tests/test_intake.py)."""
    yes = ButtonData(ButtonAction.CONFIRM_YES, TOKEN).encode()
    found = pressed(press(yes))
    assert found is not None and (found.data, found.label) == (yes, "Yes")
    inbound = found.inbound
    assert inbound.chat_id == f"{build.TEAM}:D0ANNA0001" and not inbound.group
    assert inbound.message_id.startswith("action:")


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (ButtonData(ButtonAction.CONFIRM_NO, TOKEN), "No"),
        (ButtonData(ButtonAction.SNOOZE, "0b7e4c1e-8a0b-4b8f-9a51-5c1f0e2b7d3a", "10m"), "10 min"),
        (ButtonData(ButtonAction.DONE, "0b7e4c1e-8a0b-4b8f-9a51-5c1f0e2b7d3a"), "Done"),
    ],
    ids=["no", "snooze", "done"],
)
def test_any_other_button_is_its_label(data: ButtonData, label: str) -> None:
    found = pressed(press(data.encode(), label))
    assert found is not None
    assert (found.label, found.data, found.inbound.confirmed) == (label, data.encode(), None)


def test_a_press_in_a_channel_is_the_channels_conversation() -> None:
    found = pressed(press(ButtonData(ButtonAction.DONE, "x").encode(), "Done", "C0GENERAL1"))
    assert found is not None and found.inbound.group


@pytest.mark.parametrize(
    "value",
    [None, "", "not ours", "b1:zz:x:", "b1:ey:not-a-token:"],
    ids=["link", "empty", "text", "unknown", "bad-token"],
)
def test_a_press_that_is_not_ours_is_no_press(value: str | None) -> None:
    found = pressed(press(value))
    assert found is None or found.inbound.confirmed is None


@given(payload=st.fixed_dictionaries({"type": st.just("block_actions")}, optional={
    "team": json_values, "user": json_values, "container": json_values, "channel": json_values,
    "actions": st.lists(st.dictionaries(st.sampled_from(["value", "text", "action_ts"]),
                                        json_values)),
}))  # fmt: skip
def test_any_press_is_read_without_an_error(payload: Json) -> None:
    pressed(payload)


def shared(**fields: Any) -> Json:
    file = {
        "id": "F0FILE0001",
        "name": "notes.txt",
        "mimetype": "text/plain",
        "size": 12,
        "url_private_download": "https://files.slack.com/files-pri/T0-F0/download/notes.txt",
    }
    return build.envelope(
        {**DM, "text": "", "subtype": "file_share", "files": [{**file, **fields}]}
    )


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({}, AttachmentKind.DOCUMENT),
        ({"mimetype": "image/png", "name": "p.png"}, AttachmentKind.DOCUMENT),
        ({"mimetype": "audio/mpeg", "name": "a.mp3"}, AttachmentKind.AUDIO),
        ({"mimetype": "audio/webm", "subtype": "slack_audio"}, AttachmentKind.VOICE),
        ({"mimetype": "video/mp4"}, None),
        ({"size": 0}, None),
        ({"id": "../etc"}, None),
        ({"url_private_download": "file:///etc/passwd"}, None),
    ],
    ids=["document", "picture", "audio", "voice-clip", "video", "empty", "odd-id", "odd-url"],
)
def test_a_shared_file_is_read_by_its_kind(fields: Json, kind: AttachmentKind | None) -> None:
    envelope = shared(**fields)
    files = event_files(envelope)
    assert [f.kind for f in files] == ([kind] if kind else [])
    # a message of files alone is a message when one of them can be read
    assert (event_inbound(envelope) is not None) == (kind is not None)


def test_a_message_stamped_past_the_calendars_end_is_taken_without_its_time() -> None:
    """`ts` is Slack's (digits, a dot, digits): one past year 9999 reads as no time (the
    intake stamps it on arrival), never an error that Slack would redeliver for an hour."""
    inbound = event_inbound(build.envelope({**DM, "ts": "999999999999.000001"}))
    assert inbound is not None and inbound.text == "hello" and inbound.sent_at is None
    found = event_inbound(build.envelope(DM))
    assert found is not None and found.sent_at is not None and found.sent_at.year == 2023


def test_a_press_whose_actions_are_not_actions_is_no_press() -> None:
    payload = press(ButtonData(ButtonAction.DONE, "x").encode(), "Done")
    assert pressed({**payload, "actions": ["b0.0", None]}) is None
