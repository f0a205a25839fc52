"""Property: whatever body is POSTed to the webhook (any JSON value, update-shaped JSON with
odd fields and any text, bytes that are not JSON or not UTF-8) with the right secret, the
answer is never a 5xx while Redis and rest_service are up: Telegram would deliver it again
forever. With a wrong secret it is a 401 and nothing is queued. Afterwards the bot still
receives as usual.

One bot runs for all examples; hypothesis runs in a worker thread and posts with a client
of its own while the bot answers on the test's event loop."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.tests.strategies import any_text
from sandbox import telegram_updates as build
from sandbox.telegram_webhook import SECRET_HEADER
from tests.tiers import examples
from tests.waiting import until
from tg_bot.tests.conftest import incoming

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), any_text(30)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(any_text(8), inner, max_size=4)
    ),
    max_leaves=20,
)
#: Mostly ids as Telegram sends them, sometimes out of any range, sometimes not numbers.
VALID_ID = st.integers(1, 2**40)
IDS = st.one_of(VALID_ID, VALID_ID, VALID_ID, st.integers(-(2**70), 2**70), st.text(max_size=5))
CHAT = st.fixed_dictionaries(
    {"id": VALID_ID, "type": st.sampled_from(["private", "private", "group", "supergroup", "x"])},
    optional={"title": any_text(10), "first_name": any_text(10)},
)
SENDER = st.fixed_dictionaries(
    {"id": IDS, "is_bot": st.booleans(), "first_name": any_text(10)},
    optional={"language_code": st.sampled_from(["en", "ru", "", "zz"]), "username": any_text(8)},
)
MESSAGE = st.fixed_dictionaries(
    {"message_id": IDS, "date": VALID_ID, "chat": CHAT, "from": SENDER, "text": any_text(200)},
    optional={"caption": any_text(50), "entities": st.lists(JSON, max_size=3), "extra": JSON},
)
KIND = st.one_of(
    st.tuples(st.sampled_from(["message", "message", "edited_message"]), MESSAGE),
    st.tuples(st.sampled_from(["callback_query", "my_chat_member", "unknown_kind"]), JSON),
)
UPDATE = st.builds(lambda update_id, kind: {"update_id": update_id, kind[0]: kind[1]}, IDS, KIND)
BODIES = st.one_of(
    UPDATE.map(lambda value: json.dumps(value, ensure_ascii=True).encode()),
    JSON.map(lambda value: json.dumps(value, ensure_ascii=True).encode()),
    UPDATE.map(lambda value: json.dumps(value, ensure_ascii=True).encode()),
    UPDATE.map(lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8", "replace")),
    st.binary(max_size=200),
)

#: Any header value (visible ASCII); shorter than the generated secret, so never it.
WRONG_SECRETS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)


async def test_any_body_posted_to_the_webhook_gets_no_5xx(
    run_bot, telegram, redis, names, rest_url, bot_env
) -> None:
    url = f"http://127.0.0.1:{bot_env['HTTP_PORT']}/telegram/webhook"
    statuses: list[int] = []
    bodies = examples(100)

    async with run_bot(TELEGRAM_WEBHOOK_URL=url, RATE_LIMIT_MESSAGES_PER_MINUTE="0"):
        await until(lambda: _set(telegram), timeout=30)
        secret = telegram.webhook.secret_token

        @settings(
            max_examples=bodies,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(body=BODIES, wrong=WRONG_SECRETS)
        def check(body: bytes, wrong: str) -> None:
            with httpx.Client(timeout=30) as http:
                queued_before = _queued_now(redis, names)
                refused = http.post(url, content=body, headers={SECRET_HEADER: wrong})
                assert refused.status_code == 401, refused.text
                assert _queued_now(redis, names) == queued_before
                answer = http.post(url, content=body, headers={SECRET_HEADER: secret})
                statuses.append(answer.status_code)
                assert answer.status_code in (200, 413), (answer.status_code, body[:200])

        loop = asyncio.get_running_loop()

        def _queued_now(redis: Any, names: Any) -> int:
            future = asyncio.run_coroutine_threadsafe(incoming(redis, names), loop)
            return len(future.result(timeout=10))

        await asyncio.to_thread(check)
        sender = build.user(random.randint(10**8, 10**10), "After")
        telegram.inject(build.private_text(sender, "still listening?"))

        async def heard() -> bool:
            return any(m.text == "still listening?" for m in await incoming(redis, names))

        await until(heard, timeout=20)
    assert statuses and all(s < 500 for s in statuses)
    pattern = names.telegram_webhook_seen(telegram.bot_id, "*")
    seen = [key async for key in redis.scan_iter(match=pattern, count=1000)]
    # Bodies were updates, routed and committed, not only refused: one in twenty at least.
    assert len(seen) >= max(1, bodies // 20)


async def _set(telegram: Any) -> bool:
    return bool(telegram.webhook.active)
