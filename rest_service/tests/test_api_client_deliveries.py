"""An API client's webhook deliveries (decision 0061): queued by the channels service once per
event id, signed with the secret shown at create, retried for a time rather than a number of
attempts, dead for a revoked client, listed and replayed by the admin."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlmodel import col

from common.infrastructure import service_tokens
from common.infrastructure.address_guard import guarded_session
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import ConflictError
from common.infrastructure.rest_client import RestClient
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.models.api_client import ApiClient
from rest_service.app.models.webhook import PAYLOAD_MAX_BYTES, DeliveryStatus, WebhookDelivery
from rest_service.app.state import AppState
from rest_service.app.webhook_delivery import DeliveryWorker
from rest_service.tests.conftest import Api, assert_error, unique
from rest_service.tests.test_api_clients import CHANNELS, SCOPED, make
from rest_service.tests.test_webhooks import deliveries, settled
from sandbox.webhook_receiver import Receiver, verify
from tests.tiers import examples
from tests.waiting import until

SIGNATURE = "X-Signature-256"
ANSWER = {"conversation_id": "c-1", "text": "Your table is booked for 7 pm."}


@pytest.fixture
def service_env(service_env: dict[str, str]) -> dict[str, str]:
    """rest_service as deployed with every service's own token."""
    scoped = {service_tokens.env_name(name): token for name, token in SCOPED.items()}
    return {**service_env, **scoped}


@pytest.fixture
def settings_env(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Loopback receivers allowed, no worker of the app's own, short backoffs."""
    for name, value in {
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
        "WEBHOOK_DELIVERY_ENABLED": "false",
        "WEBHOOK_RETRY_BASE_SECONDS": "0.01",
        "WEBHOOK_RETRY_MAX_SECONDS": "0.05",
        "WEBHOOK_MAX_ATTEMPTS": "3",
    }.items():
        monkeypatch.setenv(name, value)
    return settings_env


@pytest.fixture
def state(app: FastAPI) -> AppState:
    return app.state.app_state  # type: ignore[no-any-return]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def worker(state: AppState) -> AsyncIterator[DeliveryWorker]:
    async with guarded_session(5.0, allow_private=True) as http:
        yield DeliveryWorker(state, http, state.settings)


def queue_body(event_id: uuid.UUID | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "event": "message.answered",
        "event_id": str(event_id or uuid.uuid4()),
        "payload": ANSWER,
        **fields,
    }


async def queue(
    client: httpx.AsyncClient, client_id: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await client.post(f"/api/api-clients/{client_id}/deliveries", json=body, headers=headers)


async def attempted(worker: DeliveryWorker, state: AppState, times: int) -> WebhookDelivery:
    """Runs the worker until the one delivery has been tried `times` times (its short
    backoffs waited out) and is still pending."""

    async def enough() -> WebhookDelivery | None:
        await worker.run_once()
        [row] = await deliveries(state)
        assert row.status == DeliveryStatus.pending, row.last_error
        return row if row.attempts >= times else None

    return await until(enough, 20, f"{times} attempts")


async def change_client(state: AppState, client_id: str, **values: Any) -> None:
    async with unit_of_work(state, "test") as ctx:
        await ctx.session.execute(
            update(ApiClient).where(col(ApiClient.id) == uuid.UUID(client_id)).values(values)
        )


class TestQueueing:
    async def test_a_delivery_arrives_signed_with_the_secret_shown_at_create(
        self,
        api: Api,
        client: httpx.AsyncClient,
        state: AppState,
        worker: DeliveryWorker,
        receiver: Receiver,
    ) -> None:
        made = await make(api, webhook_url=receiver.url)
        secret = made["webhook_secret"]
        assert len(secret) >= 43 and made["webhook_secret_masked"] == "…" + secret[-4:]
        event_id = uuid.uuid4()
        queued = await queue(client, made["id"], queue_body(event_id), CHANNELS)
        assert queued.status_code == 201, queued.text
        shown = queued.json()
        assert (shown["target"], shown["api_client_id"], shown["status"]) == (
            "api_client",
            made["id"],
            "pending",
        )
        assert shown["subscription_id"] is None and shown["payload"] == ANSWER

        [row] = await settled(worker, state)
        assert row.status == DeliveryStatus.delivered
        [(headers, body)] = receiver.received
        assert verify(secret, headers, body, SIGNATURE)
        assert not verify("not-the-secret", headers, body, SIGNATURE)
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Webhook-Event"] == "message.answered"
        assert headers["X-Webhook-Id"] == str(event_id)
        sent = json.loads(body)
        assert (sent["id"], sent["event"], sent["data"]) == (
            str(event_id),
            "message.answered",
            ANSWER,
        )

    async def test_the_same_event_id_again_is_the_same_delivery_sent_once(
        self,
        api: Api,
        client: httpx.AsyncClient,
        state: AppState,
        worker: DeliveryWorker,
        receiver: Receiver,
    ) -> None:
        made = await make(api, webhook_url=receiver.url)
        other = await make(api, webhook_url=receiver.url)
        body = queue_body(event="message.notification")
        first = await queue(client, made["id"], body, CHANNELS)
        again = await queue(client, made["id"], body, CHANNELS)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"]
        # another client's delivery of the same event id is its own
        assert (await queue(client, other["id"], body, CHANNELS)).status_code == 201
        delivered = await settled(worker, state)
        assert len(delivered) == 2 and len(receiver.received) == 2

    async def test_a_revoked_client_or_one_without_a_url_gets_a_409_naming_why(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        nowhere = await make(api)
        refused = await queue(client, nowhere["id"], queue_body(), CHANNELS)
        assert assert_error(refused, 409, "conflict")["fields"][0]["field"] == "webhook_url"
        revoked = await make(api, webhook_url="https://93.184.216.34/answers")
        await client.delete(f"/api/api-clients/{revoked['id']}", headers=api.admin)
        refused = await queue(client, revoked["id"], queue_body(), CHANNELS)
        assert assert_error(refused, 409, "conflict")["fields"][0]["field"] == "revoked_at"
        missing = str(uuid.uuid4())
        assert_error(await queue(client, missing, queue_body(), CHANNELS), 404, "not_found")
        path = f"/api/api-clients/{missing}/deliveries"
        assert_error(await client.get(path, headers=api.admin), 404, "not_found")

    async def test_the_rest_client_queues_and_gets_the_same_delivery_back(
        self, api: Api, rest: RestClient, receiver: Receiver
    ) -> None:
        made = await make(api, webhook_url=receiver.url)
        event_id = uuid.uuid4()
        queued = await rest.queue_api_client_delivery(
            made["id"], "message.answered", event_id, ANSWER
        )
        again = await rest.queue_api_client_delivery(
            made["id"], "message.answered", str(event_id), ANSWER
        )
        assert again == queued
        path = f"/api/api-clients/{made['id']}/deliveries"
        (listed,) = (await api.http.get(path, headers=api.admin)).json()
        assert listed["id"] == str(queued) and listed["api_client_id"] == made["id"]
        assert (listed["event"], listed["event_id"], listed["status"]) == (
            "message.answered",
            str(event_id),
            "pending",
        )
        await api.http.delete(f"/api/api-clients/{made['id']}", headers=api.admin)
        with pytest.raises(ConflictError):
            await rest.queue_api_client_delivery(made["id"], "message.answered", event_id, {})


class TestRetries:
    async def test_failures_are_retried_past_the_attempts_until_the_horizon_then_dead(
        self,
        api: Api,
        client: httpx.AsyncClient,
        state: AppState,
        worker: DeliveryWorker,
        receiver: Receiver,
    ) -> None:
        receiver.statuses = [500]
        made = await make(api, webhook_url=receiver.url)
        await queue(client, made["id"], queue_body(), CHANNELS)
        # more sends than WEBHOOK_MAX_ATTEMPTS (3): an API client's horizon is time
        row = await attempted(worker, state, 5)
        assert row.last_error == "HTTP 500"
        day_ago = utcnow() - timedelta(hours=state.settings.api_webhook_retry_hours)
        async with unit_of_work(state, "test") as ctx:
            await ctx.session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == row.id)
                .values(queued_at=day_ago)
            )
        [dead] = await settled(worker, state)
        assert (dead.status, dead.last_error) == (DeliveryStatus.dead, "HTTP 500")

        path = f"/api/api-clients/{made['id']}/deliveries"
        listed = await client.get(f"{path}?status=dead", headers=api.admin)
        assert [d["id"] for d in listed.json()] == [str(dead.id)]
        assert listed.headers["X-Total-Count"] == "1"
        assert await api.ok("GET", f"{path}?status=pending", api.admin) == []

        sends = len(receiver.received)
        receiver.statuses = [200]
        receiver.received.clear()
        replayed = await api.ok("POST", f"/api/webhooks/deliveries/{dead.id}/replay", api.admin)
        assert (replayed["status"], replayed["attempts"]) == ("pending", 0)
        assert replayed["queued_at"] > dead.queued_at.isoformat()  # another whole day
        [row] = await settled(worker, state)
        assert (row.status, row.attempts) == (DeliveryStatus.delivered, 1)
        assert sends >= 5 and len(receiver.received) == 1
        assert verify(made["webhook_secret"], *receiver.received[0], SIGNATURE)

    async def test_a_revoked_clients_pending_delivery_goes_dead_unsent(
        self,
        api: Api,
        client: httpx.AsyncClient,
        state: AppState,
        worker: DeliveryWorker,
        receiver: Receiver,
    ) -> None:
        made = await make(api, webhook_url=receiver.url)
        await queue(client, made["id"], queue_body(), CHANNELS)
        await client.delete(f"/api/api-clients/{made['id']}", headers=api.admin)
        [row] = await settled(worker, state)
        assert (row.status, row.attempts, row.last_error) == (
            DeliveryStatus.dead,
            1,
            "client revoked",
        )
        assert receiver.received == []
        refused = await queue(client, made["id"], queue_body(), CHANNELS)
        assert assert_error(refused, 409)["fields"][0]["field"] == "revoked_at"

    async def test_a_client_without_a_secret_or_url_waits_for_the_admin_to_give_one(
        self,
        api: Api,
        client: httpx.AsyncClient,
        state: AppState,
        worker: DeliveryWorker,
        receiver: Receiver,
    ) -> None:
        made = await make(api, webhook_url=receiver.url)
        await queue(client, made["id"], queue_body(), CHANNELS)
        # as a client made before 0024 is: no secret
        await change_client(state, made["id"], webhook_secret_encrypted=None)
        row = await attempted(worker, state, 1)
        assert row.last_error == "no webhook secret"
        renewed = await client.post(
            f"/api/api-clients/{made['id']}/webhook-secret", headers=api.admin
        )
        assert renewed.status_code == 200 and renewed.headers["Cache-Control"] == "no-store"
        secret = renewed.json()["webhook_secret"]
        assert secret != made["webhook_secret"] and "key" not in renewed.json()
        await change_client(state, made["id"], webhook_url=None)
        row = await attempted(worker, state, 2)
        assert row.last_error == "no webhook_url"
        await change_client(state, made["id"], webhook_url=receiver.url)
        [row] = await settled(worker, state)
        assert row.status == DeliveryStatus.delivered
        assert verify(secret, *receiver.received[0], SIGNATURE)


class TestSecrets:
    async def test_the_webhook_secret_is_shown_once_and_kept_encrypted(
        self, api: Api, client: httpx.AsyncClient, state: AppState
    ) -> None:
        made = await make(api)
        path = f"/api/api-clients/{made['id']}"
        shown = [
            await api.ok("GET", path, api.admin),
            *await api.ok("GET", "/api/api-clients", api.admin),
            await api.ok("POST", f"{path}/key", api.admin),
        ]
        for row in shown:
            assert "webhook_secret" not in row and made["webhook_secret"] not in str(row)
            assert row["webhook_secret_masked"] == made["webhook_secret_masked"]
        async with unit_of_work(state, "test") as ctx:
            stored = await ctx.session.get(ApiClient, uuid.UUID(made["id"]))
            assert stored is not None and stored.webhook_secret_encrypted is not None
            assert made["webhook_secret"] not in stored.webhook_secret_encrypted
            assert ctx.box.decrypt(stored.webhook_secret_encrypted) == made["webhook_secret"]
        await client.delete(path, headers=api.admin)
        refused = await client.post(f"{path}/webhook-secret", headers=api.admin)
        assert assert_error(refused, 409)["fields"][0]["field"] == "revoked_at"
        missing = f"/api/api-clients/{uuid.uuid4()}/webhook-secret"
        assert_error(await client.post(missing, headers=api.admin), 404)

    async def test_a_subscription_cannot_take_the_api_events(self, api: Api) -> None:
        for event in ("message.answered", "message.notification"):
            body = {"name": unique("hook"), "url": "https://93.184.216.34/h", "events": [event]}
            response = await api.http.post("/api/webhooks/", json=body, headers=api.admin)
            fields = assert_error(response, 422, "validation_error")["fields"]
            assert {f["field"].split(".")[0] for f in fields} == {"events"}, fields
            assert "API clients' webhooks only" in fields[0]["reason"]


class TestCallers:
    async def test_queueing_is_the_channels_token_the_shared_one_and_the_admins(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        made = await make(api, webhook_url="https://93.184.216.34/answers")
        for name, token in SCOPED.items():
            response = await queue(
                client, made["id"], queue_body(), {"Authorization": f"Bearer {token}"}
            )
            if name == "channels":
                assert response.status_code == 201, response.text
            else:
                detail = assert_error(response, 403, "forbidden")["detail"]
                assert "may not queue API client deliveries" in detail
        for headers in (api.service, api.admin):
            assert (await queue(client, made["id"], queue_body(), headers)).status_code == 201
        assert_error(await queue(client, made["id"], queue_body(), {}), 401)

    async def test_the_list_and_the_new_secret_are_the_admins_alone(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        made = await make(api)
        path = f"/api/api-clients/{made['id']}"
        for token in [api.service["Authorization"], *(f"Bearer {t}" for t in SCOPED.values())]:
            headers = {"Authorization": token}
            assert_error(await client.get(f"{path}/deliveries", headers=headers), 403)
            assert_error(await client.post(f"{path}/webhook-secret", headers=headers), 403)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        JSON,
        st.fixed_dictionaries(
            {},
            optional={
                "event": st.sampled_from(
                    ["message.answered", "message.notification", "lead.created"]
                )
                | JSON,
                "event_id": st.uuids().map(str) | JSON,
                "payload": st.dictionaries(st.text(max_size=8), JSON, max_size=4) | JSON,
                "extra": JSON,
            },
        ),
    )
)
@example(
    body={
        "event": "message.answered",
        "event_id": "e3e70682-c209-4cac-629f-6fbed82c07cd",
        "payload": {"n": 7.20575940379215e16},
    }
)
async def test_any_body_is_queued_or_a_422_naming_the_field(
    api: Api, client: httpx.AsyncClient, body: Any
) -> None:
    made = await make(api, webhook_url="https://93.184.216.34/answers")
    content = json.dumps(body)  # NaN and Infinity too, as Python's client would send them
    response = await client.post(
        f"/api/api-clients/{made['id']}/deliveries",
        content=content,
        headers={**CHANNELS, "Content-Type": "application/json"},
    )
    if response.status_code == 201:
        # Numbers as decimals: Postgres keeps the number written (7.20575940379215e+16 comes
        # back as 72057594037921500, the same decimal; Hypothesis drew it), not the float.
        sent = json.loads(content, parse_float=Decimal)
        kept = json.loads(response.text, parse_float=Decimal)
        assert isinstance(body, dict) and kept["payload"] == sent["payload"]
        return
    fields = assert_error(response, 422, "validation_error")["fields"]
    assert {f["field"].split(".")[0] for f in fields} <= {"body", "event", "event_id", "payload"}
    assert fields, response.text


async def test_a_payload_over_the_limit_is_a_422_naming_payload(
    api: Api, client: httpx.AsyncClient
) -> None:
    made = await make(api, webhook_url="https://93.184.216.34/answers")
    big = queue_body(payload={"text": "x" * PAYLOAD_MAX_BYTES})
    response = await queue(client, made["id"], big, CHANNELS)
    fields = assert_error(response, 422, "validation_error")["fields"]
    assert [f["field"] for f in fields] == ["payload"], fields
    assert str(PAYLOAD_MAX_BYTES) in fields[0]["reason"]
