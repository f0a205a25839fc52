"""/api/bots: the token encrypted and never shown back, the right token reads it, every
change is said on `bots:updated` and reaches the config snapshot."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.infrastructure.crypto import SecretBox
from common.infrastructure.queue_messages import conversation_key
from common.infrastructure.redis_keys import Names
from rest_service.tests.conftest import Api, assert_error, channel, unique
from rest_service.tests.test_llm import raw_row
from tests.tiers import examples

MISSING = str(uuid.uuid4())


def telegram_token(bot_id: int = 0) -> str:
    number = bot_id or uuid.uuid4().int % 10**10 + 1
    return f"{number}:AAH{uuid.uuid4().hex}SECRETtail"


async def make_bot(api: Api, **fields: Any) -> dict[str, Any]:
    assistant_id = fields.pop("assistant_id", None) or (await api.assistant())["id"]
    body = {"name": unique("bot"), "assistant_id": assistant_id, "token": telegram_token()}
    return await api.ok("POST", "/api/bots/", api.admin, json={**body, **fields})


class TestBots:
    @pytest.mark.commits
    async def test_token_is_encrypted_at_rest_and_shown_masked(
        self, api: Api, database_url: str, secrets: dict[str, str]
    ) -> None:
        token = telegram_token(777000111)
        bot = await make_bot(api, token=token, greeting="Welcome to the shop")
        assert bot["telegram_bot_id"] == 777000111 and bot["channel"] == "telegram"
        assert bot["token_masked"] == f"…{token[-4:]}" and "token" not in bot
        assert bot["greeting"] == "Welcome to the shop" and bot["allowed_user_ids"] == []
        (stored,) = raw_row(
            database_url, "SELECT token_encrypted FROM bots WHERE id = %s", bot["id"]
        )
        assert token not in stored
        assert SecretBox(secrets["LLM_MODEL_DECRYPT_KEY"]).decrypt(stored) == token

    async def test_service_token_reads_the_decrypted_token_admin_may_not(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        token = telegram_token()
        bot = await make_bot(api, token=token)
        path = f"/api/bots/{bot['id']}/token"
        assert (await client.get(path, headers=api.service)).json() == {"token": token}
        assert_error(await client.get(path, headers=api.admin), 403, "forbidden")
        assert_error(await client.get(path), 401)
        assert_error(await client.get(f"/api/bots/{MISSING}/token", headers=api.service), 404)

    async def test_no_token_in_any_response(self, api: Api, client: httpx.AsyncClient) -> None:
        token = telegram_token()
        bot = await make_bot(api, token=token)
        secret = token.split(":")[1][:-4]
        paths = ["/api/bots/", f"/api/bots/{bot['id']}", "/api/config", "/api/config/export"]
        for path in paths:
            for headers in (api.admin, api.service):
                response = await client.get(path, headers=headers)
                if response.status_code == 403:
                    continue
                assert response.status_code == 200, (path, response.text)
                assert secret not in response.text, path
        updated = await client.put(
            f"/api/bots/{bot['id']}", headers=api.admin, json={"greeting": "hi"}
        )
        assert secret not in updated.text

    async def test_the_token_is_never_logged(
        self, api: Api, caplog: pytest.LogCaptureFixture
    ) -> None:
        token = telegram_token()
        bot = await make_bot(api, token=token)
        await api.ok("GET", f"/api/bots/{bot['id']}/token", api.service)
        await api.ok("PUT", f"/api/bots/{bot['id']}", api.admin, json={"token": telegram_token()})
        assert token.split(":")[1] not in caplog.text

    async def test_put_is_partial_and_a_new_token_names_a_new_bot(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        bot = await make_bot(api, allowed_user_ids=[5, 3, 5])
        assert bot["allowed_user_ids"] == [3, 5]
        path = f"/api/bots/{bot['id']}"
        named = await api.ok("PUT", path, api.admin, json={"telegram_username": "shop_bot"})
        assert named["telegram_username"] == "shop_bot" and named["allowed_user_ids"] == [3, 5]
        new = telegram_token(424242)
        moved = await api.ok("PUT", path, api.admin, json={"token": new, "is_active": False})
        assert moved["telegram_bot_id"] == 424242 and moved["telegram_username"] is None
        assert moved["is_active"] is False and moved["token_masked"] == f"…{new[-4:]}"
        read = await client.get(f"{path}/token", headers=api.service)
        assert read.json() == {"token": new}
        other = await api.assistant()
        speaks = await api.ok("PUT", path, api.admin, json={"assistant_id": other["id"]})
        assert speaks["assistant_id"] == other["id"]

    async def test_lists_by_name_with_an_active_filter_for_services(self, api: Api) -> None:
        on = await make_bot(api, name=unique("a"))
        off = await make_bot(api, name=unique("b"), is_active=False)
        every = await api.ok("GET", "/api/bots/?limit=1000", api.service)
        assert {on["id"], off["id"]} <= {b["id"] for b in every}
        active = await api.ok("GET", "/api/bots/?active=true&limit=1000", api.service)
        assert on["id"] in {b["id"] for b in active} and off["id"] not in {b["id"] for b in active}
        assert (await api.ok("GET", f"/api/bots/{on['id']}", api.service))["name"] == on["name"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"token": "not-a-telegram-token"}, "token"),
            ({"token": "0:AAAAAAAAAAAAAAAAAAAAAAAAA"}, "token"),
            ({"token": ""}, "token"),
            ({"name": "  "}, "name"),
            ({"channel": "fax"}, "channel"),
            ({"allowed_user_ids": [0]}, "allowed_user_ids.0"),
            ({"greeting": "x" * 4097}, "greeting"),
            ({"assistant_id": MISSING}, "assistant_id"),
        ],
    )
    async def test_invalid_create_is_422_naming_the_field(
        self, api: Api, client: httpx.AsyncClient, body: dict, field: str
    ) -> None:
        assistant = await api.assistant()
        full = {"name": unique("bot"), "assistant_id": assistant["id"], "token": telegram_token()}
        response = await client.post("/api/bots/", headers=api.admin, json={**full, **body})
        assert assert_error(response, 422)["fields"][0]["field"] == field

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"token": "nope"}, "token"),
            ({"token": None}, "token"),
            ({"name": None}, "name"),
            ({"assistant_id": MISSING}, "assistant_id"),
            ({"telegram_username": "no spaces"}, "telegram_username"),
        ],
    )
    async def test_invalid_update_is_422_naming_the_field(
        self, api: Api, client: httpx.AsyncClient, body: dict, field: str
    ) -> None:
        bot = await make_bot(api)
        response = await client.put(f"/api/bots/{bot['id']}", headers=api.admin, json=body)
        assert assert_error(response, 422)["fields"][0]["field"] == field

    async def test_another_channel_keeps_its_credentials_as_given(self, api: Api) -> None:
        bot = await make_bot(api, channel="slack", token="slack-credentials-1234")
        assert bot["channel"] == "slack" and bot["telegram_bot_id"] is None
        read = await api.ok("GET", f"/api/bots/{bot['id']}/token", api.service)
        assert read == {"token": "slack-credentials-1234"}
        changed = await api.ok(
            "PUT", f"/api/bots/{bot['id']}", api.admin, json={"token": "slack-other-5678"}
        )
        assert changed["token_masked"] == "…5678"

    async def test_a_taken_name_or_telegram_bot_is_409(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        bot = await make_bot(api, token=telegram_token(99887766))
        body = {"name": bot["name"], "assistant_id": bot["assistant_id"], "token": telegram_token()}
        response = await client.post("/api/bots/", headers=api.admin, json=body)
        assert assert_error(response, 409)["fields"][0]["field"] == "name"
        again = {**body, "name": unique("bot"), "token": telegram_token(99887766)}
        response = await client.post("/api/bots/", headers=api.admin, json=again)
        assert assert_error(response, 409)["fields"][0]["field"] == "token"

    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    async def test_missing_is_404(self, client: httpx.AsyncClient, admin, method: str) -> None:
        response = await client.request(method, f"/api/bots/{MISSING}", headers=admin, json={})
        assert_error(response, 404)

    async def test_writes_are_the_admins(self, api: Api, client: httpx.AsyncClient) -> None:
        bot = await make_bot(api)
        path = f"/api/bots/{bot['id']}"
        body = {"name": "x", "assistant_id": bot["assistant_id"], "token": telegram_token()}
        assert_error(await client.post("/api/bots/", headers=api.service, json=body), 403)
        assert_error(await client.put(path, headers=api.service, json={"name": "y"}), 403)
        assert_error(await client.delete(path, headers=api.service), 403)
        assert_error(await client.get("/api/bots/"), 401)
        assert_error(await client.post("/api/bots/", json=body), 401)

    async def test_every_write_is_said_on_bots_updated_and_reaches_the_snapshot(
        self, api: Api, redis: aioredis.Redis, names: Names
    ) -> None:
        async with channel(redis, names.bots_updated) as heard:
            bot = await make_bot(api)
            snapshot = await api.ok("GET", "/api/config", api.service)
            assert {"id": bot["id"], "name": bot["name"], "assistant_id": bot["assistant_id"]} in (
                snapshot["bots"]
            )
            await api.ok("PUT", f"/api/bots/{bot['id']}", api.admin, json={"is_active": False})
            snapshot = await api.ok("GET", "/api/config", api.service)
            assert bot["id"] not in {b["id"] for b in snapshot["bots"]}
            await api.http.delete(f"/api/bots/{bot['id']}", headers=api.admin)
            changes = [json.loads(data) for data in await heard(3)]
        assert changes == [
            {"bot_id": bot["id"], "change": c} for c in ("updated", "updated", "deleted")
        ]

    async def test_deleting_its_assistant_is_409_unless_cascade(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        bot = await make_bot(api)
        path = f"/api/assistants/{bot['assistant_id']}"
        refused = assert_error(await client.delete(path, headers=api.admin), 409)
        assert "1 bots speaking as it" in refused["detail"]
        deleted = await client.delete(path, params={"cascade": 1}, headers=api.admin)
        assert deleted.status_code == 204
        assert_error(await client.get(f"/api/bots/{bot['id']}", headers=api.admin), 404)


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "name": st.one_of(st.text(max_size=300), st.integers(), st.none()),
            "token": st.one_of(st.text(max_size=80), st.none()),
            "channel": st.one_of(st.sampled_from(["telegram", "web", "x"]), st.none()),
            "assistant_id": st.one_of(st.uuids().map(str), st.text(max_size=5)),
            "allowed_user_ids": st.lists(st.integers(-5, 2**64), max_size=3),
            "greeting": st.one_of(st.text(max_size=50), st.integers()),
        },
    )
)
async def test_any_body_is_a_201_or_an_error_naming_a_field(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.post("/api/bots/", headers=admin, json=body)
    assert response.status_code in (201, 409, 422), response.text
    if response.status_code == 422:
        assert assert_error(response, 422)["fields"][0]["field"]


@pytest.mark.commits
async def test_forgetting_a_user_forgets_their_conversations_with_every_bot(
    api: Api, client: httpx.AsyncClient, database_url: str
) -> None:
    bot = await make_bot(api)
    user, other = await api.user(), await api.user()
    mine = await api.thread(f"bot:{bot['id']}:{user['id']}", bot["assistant_id"])
    theirs = await api.thread(f"bot:{bot['id']}:{other['id']}", bot["assistant_id"])
    await api.say(mine["thread_id"], "my sofa order")
    await api.say(theirs["thread_id"], "their sofa order")

    assert (await client.delete(f"/api/users/{user['id']}", headers=api.service)).status_code == 204

    keys = (f"bot:{bot['id']}:{user['id']}", f"bot:{bot['id']}:{other['id']}")
    counts = raw_row(
        database_url,
        """SELECT (SELECT count(*) FROM chat_messages WHERE conversation_key = %s),
                  (SELECT count(*) FROM user_assistant_threads WHERE user_id = %s),
                  (SELECT count(*) FROM chat_messages WHERE conversation_key = %s)""",
        keys[0],
        keys[0],
        keys[1],
    )
    assert counts == (0, 0, 1)


@pytest.mark.commits
async def test_forgetting_a_user_forgets_their_conversations_with_named_assistants(
    api: Api, client: httpx.AsyncClient, database_url: str
) -> None:
    """The public API's named assistants keep conversations of their own: /forget takes
    them too, with a bot or without, long names (digested in the key) included."""
    bot = await make_bot(api)
    user, other = await api.user(), await api.user()
    names = ("concierge", "c" * 255)
    keys = [
        conversation_key(0, person["id"], group=False, bot_id=bot_id, assistant=name)
        for person in (user, other)
        for name in names
        for bot_id in (None, uuid.UUID(bot["id"]))
    ]
    assert all(len(key) <= 255 for key in keys)
    for key in keys:
        thread = await api.thread(key, bot["assistant_id"])
        await api.say(thread["thread_id"], f"said in {key[:20]}")

    assert (await client.delete(f"/api/users/{user['id']}", headers=api.service)).status_code == 204

    def left(key: str) -> tuple[object, ...]:
        return raw_row(
            database_url,
            """SELECT (SELECT count(*) FROM chat_messages WHERE conversation_key = %s),
                      (SELECT count(*) FROM user_assistant_threads WHERE user_id = %s)""",
            key,
            key,
        )

    mine, theirs = keys[:4], keys[4:]
    assert [left(k) for k in mine] == [(0, 0)] * 4
    assert [left(k) for k in theirs] == [(1, 1)] * 4


async def test_a_job_made_in_a_bots_conversation_is_that_bots_and_goes_with_it(
    api: Api, client: httpx.AsyncClient, redis: aioredis.Redis, names: Names
) -> None:
    """A reminder made with a bot fires through it (cron_service reads `bot_id`); one for a
    bot that is no row is a 404; deleting the bot deletes its jobs."""
    bot, user = await make_bot(api), await api.user()
    job = await api.job(user_id=user["id"], bot_id=bot["id"])
    assert job["bot_id"] == bot["id"]
    assert (await api.job(user_id=user["id"]))["bot_id"] is None
    body = {"name": "x", "chat_id": 1, "text": "x", "cron_expression": "0 9 * * *"}
    missing = await client.post(
        "/api/cron-jobs/", headers=api.service, json={**body, "bot_id": MISSING}
    )
    assert "bot" in assert_error(missing, 404)["detail"]

    async with channel(redis, names.cron_updated) as heard:
        deleted = await client.delete(f"/api/bots/{bot['id']}", headers=api.admin)
        assert deleted.status_code == 204
        told = [json.loads(m) for m in await heard(1)]
    assert told == [{"job_id": job["id"], "change": "deleted"}]
    assert_error(await client.get(f"/api/cron-jobs/{job['id']}", headers=api.service), 404)


async def test_tg_bot_records_the_username_getme_gives(api: Api, client: httpx.AsyncClient) -> None:
    """The service token with the `bot_tokens` right only; a new token forgets it again."""
    bot = await make_bot(api)
    path = f"/api/bots/{bot['id']}/telegram-username"
    learnt = await api.ok("PUT", path, api.service, json={"telegram_username": "tea_shop_bot"})
    assert learnt["telegram_username"] == "tea_shop_bot"
    assert (await api.ok("GET", f"/api/bots/{bot['id']}", api.service))["telegram_username"] == (
        "tea_shop_bot"
    )
    bad = await client.put(path, headers=api.service, json={"telegram_username": "no spaces"})
    assert assert_error(bad, 422)["fields"][0]["field"] == "telegram_username"
    assert_error(
        await client.put(path, headers=api.admin, json={"telegram_username": "x_bot1"}), 403
    )
    assert_error(await client.put(path, json={"telegram_username": "x_bot1"}), 401)
    missing = f"/api/bots/{MISSING}/telegram-username"
    assert_error(
        await client.put(missing, headers=api.service, json={"telegram_username": "abcde"}), 404
    )
    renewed = await api.ok(
        "PUT", f"/api/bots/{bot['id']}", api.admin, json={"token": telegram_token()}
    )
    assert renewed["telegram_username"] is None
