"""The Conversations list tells a private chat (the default bot's or a bots row's) from a
group by its key, whatever the key holds."""

from __future__ import annotations

import uuid

from hypothesis import example, given, settings
from hypothesis import strategies as st

from common.infrastructure.queue_messages import conversation_key
from rest_service.app.admin.conversations import _private

USER, BOT = uuid.uuid4(), uuid.uuid4()


def test_each_key_shape_names_its_user_and_bot() -> None:
    private = conversation_key(1, USER, group=False, bot_id=None)
    with_bot = conversation_key(1, USER, group=False, bot_id=BOT)
    group = conversation_key(-100, USER, group=True, bot_id=None)
    bot_group = conversation_key(-100, USER, group=True, bot_id=BOT)
    assert _private(private) == (USER, None)
    assert _private(with_bot) == (USER, BOT)
    assert _private(group) == (None, None)
    assert _private(bot_group) == (None, BOT)


@settings(max_examples=200)
@given(st.text(max_size=300) | st.builds(lambda t: f"bot:{t}", st.text(max_size=80)))
def test_any_key_is_read_without_an_error(key: str) -> None:
    user, bot = _private(key)
    assert user is None or isinstance(user, uuid.UUID)
    assert bot is None or key.startswith("bot:")


@settings(max_examples=100)
@example(name="front:chat", bot=None, group=False)
@example(name="x:chat:-100", bot=BOT, group=True)
@given(
    name=st.text(min_size=1, max_size=255),
    bot=st.sampled_from([None, BOT]),
    group=st.booleans(),
)
def test_a_named_assistants_conversation_is_its_persons_or_its_groups(
    name: str, bot: uuid.UUID | None, group: bool
) -> None:
    key = conversation_key(-100 if group else 1, USER, group=group, bot_id=bot, assistant=name)
    assert _private(key) == (None if group else USER, bot)
