"""tg_bot's cached users follow rest_service: a user the admin changed or forgot is not
served from the cache (`user:updated`), however long USER_CACHE_SECONDS is."""

from __future__ import annotations

import random
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.infrastructure.queue_messages import UserChanged
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import User
from sandbox import telegram_updates as build
from tests.waiting import until
from tg_bot.src.domain.users import UserDirectory
from tg_bot.tests.conftest import incoming


def someone() -> dict[str, Any]:
    return build.user(random.randint(10**8, 10**9), "Ida", username=f"u{uuid.uuid4().hex[:8]}")


async def test_a_user_the_admin_forgot_is_not_served_from_the_cache(
    run_bot, telegram, redis, names, own_rest: RestClient
) -> None:
    ida = someone()

    async def queued(count: int) -> list[Any]:
        async def enough() -> list[Any] | None:
            found = [m for m in await incoming(redis, names) if m.chat_id == ida["id"]]
            return found if len(found) >= count else None

        return await until(enough)

    async with run_bot(USER_CACHE_SECONDS="300"):
        telegram.inject(build.private_text(ida, "hello"))
        [first] = await queued(1)
        await own_rest.delete_user(str(first.user_id))  # the admin's "forget the user"
        telegram.inject(build.private_text(ida, "hello again"))
        [_, second] = await queued(2)
    again = await own_rest.get_user_by_telegram(ida["id"])
    # Before, the cache kept the forgotten id for USER_CACHE_SECONDS: the message went to the
    # assistant for a user rest_service no longer had.
    assert second.user_id == again.id != first.user_id


def _directory() -> UserDirectory:
    return UserDirectory(RestClient("http://127.0.0.1:9", "unused"), cache_s=300)


def _user(telegram_id: int) -> User:
    return User.model_validate(
        {
            "id": str(uuid.uuid4()),
            "telegram_id": telegram_id,
            "username": None,
            "first_name": None,
            "language": None,
            "timezone": None,
            "preferred_model": None,
            "blocked": False,
            "voice_replies": False,
            "event_alert_minutes": 0,
            "created_at": "2026-11-24T10:00:00Z",
            "updated_at": "2026-11-24T10:00:00Z",
        }
    )


def test_a_change_drops_only_that_users_copy() -> None:
    users = _directory()
    ann, bob = _user(1), _user(2)
    users._remember(ann)
    users._remember(bob)
    users.heard(UserChanged(user_id=ann.id, telegram_id=1, change="updated").model_dump_json())
    assert set(users._cache) == {2}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda uid, tid, change: (
                f'{{"user_id": "{uid}", "telegram_id": {tid}, "change": "{change}"}}'
            ),
            st.one_of(st.uuids(), st.text(max_size=10)),
            st.integers(min_value=-(2**70), max_value=2**70),
            st.sampled_from(["updated", "deleted", "renamed", ""]),
        ),
    )
)
def test_whatever_arrives_on_the_channel_never_raises_and_never_keeps_a_stale_copy(
    raw: str,
) -> None:
    """The channel is outside input: a message that cannot be read drops every copy."""
    users = _directory()
    users._remember(_user(7))
    users.heard(raw)
    try:
        change = UserChanged.model_validate_json(raw)
    except ValueError:
        assert users._cache == {}
    else:
        assert (7 in users._cache) is (change.telegram_id != 7)
