"""👍 / 👎 under an answer, on real Redis and a real rest_service: a press is stored at once
and a second one changes it; a 👎 asks for a comment (Skip under it) and the user's next
message is saved as the comment instead of going to the assistant; a press of another chat's,
an expired or a forged token is told the answer can no longer be rated and stores nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.features.buttons import ButtonAction, ButtonData, decode, feedback_buttons
from common.features.feedback import FeedbackAsks, RatedAnswer, answer_key
from common.infrastructure.queue_messages import Button
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import MessageIn, MessageRole
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tests.tiers import examples
from tg_bot.src.clients.types import TgUpdate
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.feedback import comment_taken
from tg_bot.src.i18n import CATALOGUE
from tg_bot.tests.handlers.test_buttons import Tapper, ann_and_bob, answered, services

__all__ = ["services"]  # the fixture, shared with the other button tests

MODEL = "gpt-stand-in"


@pytest.fixture
async def admin(rest_url: str, secrets: dict[str, str]) -> AsyncIterator[RestClient]:
    async with RestClient(rest_url, secrets["ADMIN_API_TOKEN"]) as client:
        yield client


async def rated_answer(
    services: Services, rest: RestClient, admin: RestClient, tapper: Tapper
) -> tuple[str, str, str]:
    """A stored answer of a fresh assistant in `tapper`'s chat, offered for rating: the
    token of its buttons, the assistant's id and the rater's user id."""
    await tapper.command("/start")
    user = await rest.get_user_by_telegram(tapper.sender["id"])
    body = {"name": f"shop-{uuid.uuid4().hex[:8]}", "feedback_buttons": True}
    assistant = (await admin.post_json("/api/assistants/", body))["id"]
    thread = await rest.get_or_create_thread(str(user.id), assistant)
    key = answer_key(str(uuid.uuid4()))
    said = MessageIn(role=MessageRole.assistant, content="Tea.", model=MODEL, dedup_key=key)
    await rest.store_messages(thread.thread_id, [said])
    rated = RatedAnswer(key, assistant, tapper.chat["id"], None, MODEL, "ab" * 8)
    token = await FeedbackAsks(services.redis, services.names).offer(rated)
    return token, assistant, str(user.id)


async def stored(admin: RestClient, assistant: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await admin.get_json("/api/feedback/", assistant_id=assistant)
    return found


def written(tapper: Tapper, services: Services, text: str, user: Any) -> Addressed:
    """`tapper`'s next message in the chat, as the router hands it on."""
    raw = build.message(tapper.chat, tapper.sender, text=text)["message"]
    update = TgUpdate.model_validate(
        {"update_id": 1, "message": {**raw, "date": 0, "message_id": 80}}
    )
    assert update.message is not None and update.message.sender is not None
    return Addressed(
        update_id=1,
        message=update.message,
        sender=update.message.sender,
        text=text,
        incoming_id=uuid.uuid4(),
        catalogue=CATALOGUE.speaking("en"),
        user=user,
    )


async def test_a_thumbs_down_asks_for_a_comment_and_a_thumbs_up_changes_it(
    services: Services, rest: RestClient, admin: RestClient, telegram: TelegramStandIn
) -> None:
    ann, _bob = ann_and_bob(services)
    token, assistant, user_id = await rated_answer(services, rest, admin, ann)
    [[up, down]] = feedback_buttons(token, "en")

    query = ann.query(down.data, 70, "Tea.")
    pressed = await ann.tap(query)

    assert answered(telegram, query) == [CATALOGUE.text("en", "feedback.down_notice")]
    [ask] = pressed.replies
    assert ask.edit_telegram_message_id is None and ask.text.startswith("😔")
    [[skip]] = ask.buttons
    assert decode(skip.data) == ButtonData(ButtonAction.FEEDBACK_SKIP, token)
    [row] = await stored(admin, assistant)
    assert (row["rating"], row["comment"], row["model"], row["user_id"]) == (
        -1,
        None,
        MODEL,
        user_id,
    )
    assert row["prompt_hash"] == "ab" * 8 and row["bot_id"] is None

    user = await rest.get_user_by_telegram(ann.sender["id"])
    said = await comment_taken(written(ann, services, "  Too expensive  ", user), services)
    assert said is not None and said.incoming is None  # not for the model
    assert [r.text for r in said.replies] == [CATALOGUE.text("en", "feedback.comment_saved")]
    [row] = await stored(admin, assistant)
    assert (row["rating"], row["comment"]) == (-1, "Too expensive")
    assert await comment_taken(written(ann, services, "and another", user), services) is None

    again = await ann.tap(ann.query(up.data, 70, "Tea."))  # the buttons may be tapped again
    assert again.replies == []
    [row] = await stored(admin, assistant)
    assert (row["rating"], row["comment"]) == (1, None)


async def test_skip_ends_the_wait_for_a_comment(
    services: Services, rest: RestClient, admin: RestClient
) -> None:
    ann, _bob = ann_and_bob(services)
    token, assistant, _user_id = await rated_answer(services, rest, admin, ann)
    [[_up, down]] = feedback_buttons(token, "en")
    [ask] = (await ann.tap(ann.query(down.data, 71, "Tea."))).replies
    [[skip]] = ask.buttons

    skipped = await ann.press(skip, 72, ask.text)

    [edit] = skipped.replies
    assert edit.edit_telegram_message_id == 72 and edit.buttons == []
    assert edit.text.endswith(CATALOGUE.text("en", "feedback.skipped"))
    user = await rest.get_user_by_telegram(ann.sender["id"])
    assert await comment_taken(written(ann, services, "hello", user), services) is None
    [row] = await stored(admin, assistant)
    assert (row["rating"], row["comment"]) == (-1, None)


async def test_a_press_in_another_chat_or_of_an_unknown_token_stores_nothing(
    services: Services, rest: RestClient, admin: RestClient, telegram: TelegramStandIn
) -> None:
    ann, _bob = ann_and_bob(services)
    token, assistant, _user_id = await rated_answer(services, rest, admin, ann)
    cara = Tapper(services, ann.sender["id"] + 7, {})
    cara.chat = build.private_chat(cara.sender)
    await cara.command("/start")
    expired = uuid.uuid4().hex
    for tapper, target in ((cara, token), (ann, expired)):
        [[up, _down]] = feedback_buttons(target, "en")
        query = tapper.query(up.data, 73, "Tea.")
        outcome = await tapper.tap(query)
        assert outcome.replies == [] and outcome.incoming is None
        assert answered(telegram, query) == [CATALOGUE.text("en", "feedback.expired")]
    assert await stored(admin, assistant) == []


FEEDBACK_ACTIONS = st.sampled_from(
    [ButtonAction.FEEDBACK_UP, ButtonAction.FEEDBACK_DOWN, ButtonAction.FEEDBACK_SKIP]
)
DATA = st.one_of(
    st.builds(
        lambda action, target, option: f"b1:{action.value}:{target}:{option}",
        FEEDBACK_ACTIONS,
        st.text(max_size=40),
        st.text(max_size=8),
    ),
    st.text(max_size=70),
)


@settings(
    max_examples=examples(20),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=DATA)
async def test_any_callback_data_is_answered_and_rates_only_what_was_offered(
    services: Services, rest: RestClient, admin: RestClient, telegram: TelegramStandIn, data: str
) -> None:
    ann, _bob = ann_and_bob(services)
    _token, assistant, _user_id = await rated_answer(services, rest, admin, ann)
    query = ann.query(data, 74, "Tea.")

    outcome = await ann.tap(query)

    assert outcome.incoming is None
    assert len(answered(telegram, query)) == 1  # every press is answered
    assert await stored(admin, assistant) == []


def test_feedback_buttons_fit_telegrams_callback_data() -> None:
    token = "f" * 32
    rows = feedback_buttons(token, "ru")
    assert [[decode(b.data) for b in row] for row in rows] == [
        [ButtonData(ButtonAction.FEEDBACK_UP, token), ButtonData(ButtonAction.FEEDBACK_DOWN, token)]
    ]
    assert all(isinstance(b, Button) and len((b.data or "").encode()) <= 64 for b in rows[0])
