"""One person across channels (decision 0054): get-or-create by a channel's sender, one-time
link codes, linking (the joiner's reminders, facts, memory and identities move, their user
goes, a code works once and not after it expired), unlinking, and bodies that are refused with
the field named. Real Postgres, the real app."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from common.features.linking import LINK_CODE_ALPHABET, LINK_CODE_LENGTH, normalise_code
from common.infrastructure.channels import Channel
from rest_service.tests.conftest import Api, assert_error, telegram_id, unique

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BY_IDENTITY = "/api/users/by-identity"
LINK = "/api/users/link"


async def sender(api: Api, channel: str, external_id: str, **fields: Any) -> dict[str, Any]:
    body = {"channel": channel, "external_id": external_id, **fields}
    return await api.ok("POST", BY_IDENTITY, api.service, json=body)


def wa() -> str:
    return f"49{uuid.uuid4().int % 10**10:010d}"


async def code_of(api: Api, user_id: str) -> str:
    made = await api.http.post(f"/api/users/{user_id}/link-codes", headers=api.service)
    assert made.status_code == 201, made.text
    return str(made.json()["code"])


async def link(api: Api, code: str, channel: str, external_id: str) -> httpx.Response:
    body = {"code": code, "channel": channel, "external_id": external_id}
    return await api.http.post(LINK, json=body, headers=api.service)


async def identities(api: Api, user_id: str) -> list[tuple[str, str]]:
    listed = await api.ok("GET", f"/api/users/{user_id}/identities", api.admin)
    return [(i["channel"], i["external_id"]) for i in listed]


class TestByIdentity:
    async def test_made_once_then_found(self, api: Api) -> None:
        phone = wa()
        body = {"channel": "whatsapp", "external_id": phone, "first_name": "Ann"}
        first = await api.http.post(BY_IDENTITY, json=body, headers=api.service)
        again = await api.http.post(BY_IDENTITY, json=body, headers=api.service)
        assert (first.status_code, again.status_code) == (201, 200), first.text
        assert first.json() == again.json()
        assert first.json()["telegram_id"] is None and first.json()["first_name"] == "Ann"
        assert await identities(api, first.json()["id"]) == [("whatsapp", phone)]

    async def test_an_email_address_is_one_whatever_its_case(self, api: Api) -> None:
        made = await sender(api, "email", " Ann.Lee@Example.COM ")
        found = await sender(api, "email", "ann.lee@example.com")
        assert made["id"] == found["id"]
        assert await identities(api, made["id"]) == [("email", "ann.lee@example.com")]

    async def test_telegram_is_the_user_of_that_telegram_id(self, api: Api) -> None:
        user = await api.user()
        found = await sender(api, "telegram", str(user["telegram_id"]))
        assert found["id"] == user["id"]
        fresh = telegram_id()
        made = await sender(api, "telegram", str(fresh))
        by_tg = await api.ok("GET", f"/api/users/by-telegram/{fresh}", api.service)
        assert by_tg["id"] == made["id"]
        assert await identities(api, made["id"]) == [("telegram", str(fresh))]

    @pytest.mark.commits
    async def test_concurrent_calls_make_one_user(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        body = {"channel": "slack", "external_id": f"T{unique('t')}:U{unique('u')}"}
        answers = await asyncio.gather(
            *(client.post(BY_IDENTITY, json=body, headers=api.service) for _ in range(6))
        )
        assert len({a.json()["id"] for a in answers}) == 1
        assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
        gone = await client.delete(f"/api/users/{answers[0].json()['id']}", headers=api.admin)
        assert gone.status_code == 204

    async def test_the_admin_token_may_not_act_for_a_sender(self, api: Api) -> None:
        body = {"channel": "web", "external_id": "visitor-1"}
        assert_error(await api.http.post(BY_IDENTITY, json=body, headers=api.admin), 403)
        assert_error(await api.http.post(BY_IDENTITY, json=body), 401)


class TestLinkCodes:
    async def test_a_code_is_short_and_unambiguous(self, api: Api) -> None:
        user = await api.user()
        answer = await api.ok("POST", f"/api/users/{user['id']}/link-codes", api.service)
        code = answer["code"]
        assert answer["ttl_seconds"] == 600
        assert len(code) == LINK_CODE_LENGTH + 1 and code[LINK_CODE_LENGTH // 2] == "-"
        assert set(code.replace("-", "")) <= set(LINK_CODE_ALPHABET)

    async def test_a_new_code_replaces_the_older_one(self, api: Api) -> None:
        ann = await api.user()
        old, new = await code_of(api, ann["id"]), await code_of(api, ann["id"])
        assert_error(await link(api, old, "web", "v-old"), 404, "not_found")
        assert (await link(api, new, "web", "v-new")).status_code == 200

    async def test_unknown_user_is_404(self, api: Api) -> None:
        answer = await api.http.post(f"/api/users/{uuid.uuid4()}/link-codes", headers=api.service)
        assert_error(answer, 404, "not_found")


class TestLink:
    async def test_the_joiner_and_all_it_had_move_to_the_issuer(self, api: Api) -> None:
        ann = await api.user(language="de", timezone=None)
        phone = wa()
        joiner = await sender(api, "whatsapp", phone, timezone="Europe/Berlin")
        await api.ok(
            "POST", f"/api/users/{joiner['id']}/facts", api.service, json={"text": "I am vegan"}
        )
        job = await api.job(user_id=joiner["id"])
        thread = await api.thread(joiner["id"])
        await api.say(thread["thread_id"], "remember the blue door", user_id=joiner["id"])

        answer = await link(api, await code_of(api, ann["id"]), "whatsapp", phone)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["user"]["id"] == ann["id"] and body["merged_user_id"] == joiner["id"]
        assert body["user"]["language"] == "de" and body["user"]["timezone"] == "Europe/Berlin"
        tg = str(ann["telegram_id"])
        assert [(i["channel"], i["external_id"]) for i in body["identities"]] == [
            ("telegram", tg),
            ("whatsapp", phone),
        ]
        assert_error(await api.http.get(f"/api/users/{joiner['id']}", headers=api.admin), 404)
        moved = await api.ok("GET", f"/api/cron-jobs/{job['id']}", api.service)
        assert moved["user_id"] == ann["id"]
        facts = await api.ok("GET", f"/api/users/{ann['id']}/facts", api.service)
        assert [f["text"] for f in facts] == ["I am vegan"]
        hits = await api.ok(
            "GET",
            "/api/messages/search",
            api.service,
            params={"q": "blue door", "user_id": ann["id"]},
        )
        assert [h["content"] for h in hits] == ["remember the blue door"]
        again = await sender(api, "whatsapp", phone)
        assert again["id"] == ann["id"]

    async def test_the_joiners_tasks_and_named_assistant_conversations_move_too(
        self, api: Api
    ) -> None:
        """Each conversation keeps its own place: with a named assistant, with a bot and a
        named assistant, with a bot, and the plain one (none is folded into another)."""
        ann = await api.user()
        phone = wa()
        joiner = await sender(api, "whatsapp", phone)
        bot = str(uuid.uuid4())
        shapes = ["{u}", "assistant:concierge:{u}", f"bot:{bot}:assistant:concierge:{{u}}"]
        for shape in shapes:
            thread = await api.thread(shape.format(u=joiner["id"]))
            await api.say(thread["thread_id"], f"said in {shape}", user_id=joiner["id"])
        task = await api.ok(
            "POST", f"/api/users/{joiner['id']}/tasks", api.service, json={"title": "pay rent"}
        )

        answer = await link(api, await code_of(api, ann["id"]), "whatsapp", phone)
        assert answer.status_code == 200, answer.text

        tasks = await api.ok("GET", f"/api/users/{ann['id']}/tasks", api.service)
        assert [t["id"] for t in tasks] == [task["id"]]
        for shape in shapes:
            key = shape.format(u=ann["id"])
            threads = await api.ok("GET", "/api/threads/", api.admin, params={"user_id": key})
            (thread,) = threads
            said = await api.ok("GET", f"/api/threads/{thread['thread_id']}/messages", api.admin)
            assert [m["content"] for m in said] == [f"said in {shape}"], key

    async def test_the_issuers_calendar_and_facts_win_over_their_twins(self, api: Api) -> None:
        ann, phone = await api.user(), wa()
        joiner = await sender(api, "whatsapp", phone)
        for who, token in ((ann, "ya29.ann"), (joiner, "ya29.joiner")):
            body = {"credentials": {"token": token, "refresh_token": "r"}}
            await api.ok(
                "PUT", f"/api/users/{who['id']}/calendar-credentials", api.service, json=body
            )
            facts = f"/api/users/{who['id']}/facts"
            await api.ok("POST", facts, api.service, json={"text": "I live in Berlin"})
        await api.ok(
            "POST", f"/api/users/{joiner['id']}/facts", api.service, json={"text": "I am vegan"}
        )
        assert (
            await link(api, await code_of(api, ann["id"]), "whatsapp", phone)
        ).status_code == 200
        calendar = await api.ok("GET", f"/api/users/{ann['id']}/calendar-credentials", api.service)
        assert calendar["credentials"]["token"] == "ya29.ann"
        facts = await api.ok("GET", f"/api/users/{ann['id']}/facts", api.service)
        assert sorted(f["text"] for f in facts) == ["I am vegan", "I live in Berlin"]

    async def test_a_calendar_only_the_joiner_had_moves(self, api: Api) -> None:
        ann, phone = await api.user(), wa()
        joiner = await sender(api, "whatsapp", phone)
        body = {"credentials": {"token": "ya29.joiner", "refresh_token": "r"}}
        await api.ok(
            "PUT", f"/api/users/{joiner['id']}/calendar-credentials", api.service, json=body
        )
        assert (
            await link(api, await code_of(api, ann["id"]), "whatsapp", phone)
        ).status_code == 200
        calendar = await api.ok("GET", f"/api/users/{ann['id']}/calendar-credentials", api.service)
        assert calendar["credentials"]["token"] == "ya29.joiner"

    async def test_a_code_works_once(self, api: Api) -> None:
        ann = await api.user()
        code = await code_of(api, ann["id"])
        assert (await link(api, code, "email", "ann@example.com")).status_code == 200
        used = await link(api, code, "web", "visitor-2")
        assert_error(used, 404, "not_found")
        assert await identities(api, ann["id"]) == [
            ("telegram", str(ann["telegram_id"])),
            ("email", "ann@example.com"),
        ]

    @pytest.mark.commits
    async def test_one_code_sent_twice_at_once_links_once(self, api: Api) -> None:
        ann = await api.user()
        code = await code_of(api, ann["id"])
        visitors = [f"visitor-{uuid.uuid4().hex}" for _ in range(4)]
        answers = await asyncio.gather(*(link(api, code, "web", v) for v in visitors))
        assert sorted(a.status_code for a in answers) == [200, 404, 404, 404]
        assert len(await identities(api, ann["id"])) == 2
        assert (
            await api.http.delete(f"/api/users/{ann['id']}", headers=api.admin)
        ).status_code == 204

    async def test_an_expired_code_is_refused(self, api: Api, app: FastAPI) -> None:
        ann = await api.user()
        code = await code_of(api, ann["id"])
        async with app.state.app_state.sessions() as session:
            await session.execute(
                text("UPDATE link_codes SET expires_at = now() - interval '1 second'")
            )
            await session.commit()
        assert_error(await link(api, code, "web", "visitor-3"), 404, "not_found")
        assert await identities(api, ann["id"]) == [("telegram", str(ann["telegram_id"]))]

    async def test_an_unknown_code_is_refused(self, api: Api) -> None:
        for code in ("ABCD-EFGH", "not a code", "0000-0000"):
            assert_error(await link(api, code, "web", "visitor-4"), 404, "not_found")

    async def test_typed_back_in_any_case_with_spaces(self, api: Api) -> None:
        ann = await api.user()
        code = await code_of(api, ann["id"])
        typed = " ".join(code.lower().replace("-", ""))
        assert normalise_code(typed) == code.replace("-", "")
        assert (await link(api, typed, "slack", "T1:U1")).status_code == 200

    async def test_linking_yourself_changes_nothing(self, api: Api) -> None:
        ann = await api.user()
        answer = await link(api, await code_of(api, ann["id"]), "telegram", str(ann["telegram_id"]))
        assert answer.status_code == 200, answer.text
        assert answer.json()["merged_user_id"] is None
        assert await identities(api, ann["id"]) == [("telegram", str(ann["telegram_id"]))]

    async def test_telegram_joining_moves_the_telegram_id(self, api: Api) -> None:
        phone = wa()
        person = await sender(api, "whatsapp", phone)
        tg_user = await api.user()
        answer = await link(
            api, await code_of(api, person["id"]), "telegram", str(tg_user["telegram_id"])
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["user"]["telegram_id"] == tg_user["telegram_id"]
        found = await api.ok("GET", f"/api/users/by-telegram/{tg_user['telegram_id']}", api.service)
        assert found["id"] == person["id"]

    async def test_a_second_telegram_account_is_409(self, api: Api) -> None:
        ann, bob = await api.user(), await api.user()
        answer = await link(api, await code_of(api, ann["id"]), "telegram", str(bob["telegram_id"]))
        assert_error(answer, 409, "conflict")
        assert (await api.http.get(f"/api/users/{bob['id']}", headers=api.admin)).status_code == 200


class TestUnlink:
    async def test_an_identity_becomes_a_user_of_its_own(self, api: Api) -> None:
        ann = await api.user(language="ru")
        phone = wa()
        await link(api, await code_of(api, ann["id"]), "whatsapp", phone)
        path = f"/api/users/{ann['id']}/identities/whatsapp/{phone}"
        gone = await api.http.delete(path, headers=api.service)
        assert gone.status_code == 200, gone.text
        fresh = gone.json()
        assert fresh["id"] != ann["id"] and fresh["telegram_id"] is None
        assert fresh["language"] == "ru"
        assert await identities(api, ann["id"]) == [("telegram", str(ann["telegram_id"]))]
        assert await identities(api, fresh["id"]) == [("whatsapp", phone)]

    async def test_telegram_leaves_with_its_telegram_id(self, api: Api) -> None:
        ann = await api.user()
        await link(api, await code_of(api, ann["id"]), "email", "ann@example.org")
        tg = ann["telegram_id"]
        gone = await api.http.delete(
            f"/api/users/{ann['id']}/identities/telegram/{tg}", headers=api.service
        )
        assert gone.status_code == 200, gone.text
        assert gone.json()["telegram_id"] == tg
        stays = await api.ok("GET", f"/api/users/{ann['id']}", api.admin)
        assert stays["telegram_id"] is None

    async def test_an_identity_with_a_slash_is_unlinked_too(self, api: Api) -> None:
        ann = await api.user()
        await link(api, await code_of(api, ann["id"]), "web", "site/visitor 7")
        gone = await api.http.delete(
            f"/api/users/{ann['id']}/identities/web/site%2Fvisitor%207", headers=api.service
        )
        assert gone.status_code == 200, gone.text
        assert await identities(api, gone.json()["id"]) == [("web", "site/visitor 7")]

    async def test_the_last_identity_is_409(self, api: Api) -> None:
        ann = await api.user()
        path = f"/api/users/{ann['id']}/identities/telegram/{ann['telegram_id']}"
        assert_error(await api.http.delete(path, headers=api.service), 409, "conflict")

    async def test_an_identity_of_someone_else_is_404(self, api: Api) -> None:
        ann, bob = await api.user(), await api.user()
        path = f"/api/users/{ann['id']}/identities/telegram/{bob['telegram_id']}"
        assert_error(await api.http.delete(path, headers=api.service), 404, "not_found")


#: Bodies as a channel might send them: right and wrong channels, ids of every kind, other shapes.
IDENTITY_BODIES = st.one_of(
    st.fixed_dictionaries(
        {
            "channel": st.one_of(st.sampled_from([c.value for c in Channel]), st.text(max_size=8)),
            "external_id": st.one_of(st.text(max_size=300), st.integers(), st.none()),
        }
    ),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    st.lists(st.text(max_size=5), max_size=2),
)


def _field_names(answer: httpx.Response) -> set[str]:
    return {f["field"].split(".")[-1] for f in answer.json()["fields"]}


@PROPERTY
@given(body=IDENTITY_BODIES)
async def test_a_bad_identity_body_is_422_naming_its_field(api: Api, body: Any) -> None:
    answer = await api.http.post(BY_IDENTITY, json=body, headers=api.service)
    assert answer.status_code in (200, 201, 422), answer.text
    if answer.status_code == 422:
        assert _field_names(answer) & {"channel", "external_id", "body"}, answer.json()


@PROPERTY
@given(code=st.one_of(st.text(max_size=80), st.integers(), st.none()), ext=st.text(max_size=40))
async def test_a_link_body_is_a_404_or_a_422_naming_its_field(
    api: Api, code: Any, ext: str
) -> None:
    answer = await link(api, code, "web", ext)
    assert answer.status_code in (404, 422), answer.text
    if answer.status_code == 422:
        assert _field_names(answer) & {"code", "external_id"}, answer.json()
