"""The admin's Webhooks pages through their own HTTP forms: a subscription made with a typed
secret (stored encrypted, shown masked), and deliveries replayed from the list; a pending one
is refused with the reason and nothing changes."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlmodel import col

from rest_service.app.domain.events import emit_event
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.models.webhook import DeliveryStatus, WebhookDelivery, WebhookEvent
from rest_service.app.state import AppState
from rest_service.tests.conftest import Api
from rest_service.tests.test_admin import ORIGIN, logged_in  # noqa: F401  (the fixture)

PUBLIC_URL = "https://93.184.216.34/hooks"
SECRET = "a-secret-the-receiver-checks"


@pytest.fixture
def settings_env(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("WEBHOOK_DELIVERY_ENABLED", "false")  # the rows stay as the test sets them
    return settings_env


def form(**fields: str | list[str]) -> dict[str, str | list[str]]:
    base: dict[str, str | list[str]] = {
        "name": "crm",
        "url": PUBLIC_URL,
        "is_active": "y",
        "events": ["lead.created", "lead.updated"],
        "secret": SECRET,
    }
    return {**base, **fields}


async def test_a_subscription_is_made_with_its_secret_masked_and_edited_keeping_it(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    create = "/admin/webhook-subscription/create"
    no_secret = await logged_in.post(create, data=form(secret=""), headers=ORIGIN)
    assert no_secret.status_code == 400 and "type the secret the receiver checks" in no_secret.text
    made = await logged_in.post(create, data=form(), headers=ORIGIN)
    assert made.status_code == 302, made.text
    (hook,) = await api.ok("GET", "/api/webhooks/", api.admin)
    assert hook["events"] == ["lead.created", "lead.updated"]
    assert hook["secret_masked"] == f"…{SECRET[-4:]}"
    listed = await logged_in.get("/admin/webhook-subscription/list")
    assert SECRET not in listed.text and f"…{SECRET[-4:]}" in listed.text
    edited = await logged_in.post(
        f"/admin/webhook-subscription/edit/{hook['id']}",
        data=form(secret="", events=["feedback.created"]),
        headers=ORIGIN,
    )
    assert edited.status_code == 302, edited.text
    after = await api.ok("GET", f"/api/webhooks/{hook['id']}", api.admin)
    assert (
        after["events"] == ["feedback.created"] and after["secret_masked"] == hook["secret_masked"]
    )


async def test_a_dead_delivery_is_replayed_and_a_pending_one_refused(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
    app: FastAPI,
) -> None:
    state: AppState = app.state.app_state
    await api.ok(
        "POST",
        "/api/webhooks/",
        api.admin,
        json={"name": "crm", "url": PUBLIC_URL, "events": ["lead.created"], "secret": SECRET},
    )
    async with unit_of_work(state, "test") as ctx:
        await emit_event(ctx, WebhookEvent.lead_created, {"id": "lead-1"})
    async with unit_of_work(state, "test") as ctx:
        (row,) = (await ctx.session.scalars(select(col(WebhookDelivery.id)))).all()
    pending = await logged_in.get(f"/admin/webhook-delivery/action/replay?pks={row}")
    assert pending.status_code == 409 and "Nothing was replayed" in pending.text
    async with unit_of_work(state, "test") as ctx:
        delivery = await ctx.session.get(WebhookDelivery, row)
        assert delivery is not None
        delivery.status, delivery.attempts, delivery.last_error = DeliveryStatus.dead, 5, "HTTP 500"
    listed = await logged_in.get("/admin/webhook-delivery/list")
    assert "HTTP 500" in listed.text and "lead.created" in listed.text
    forged = await logged_in.get("/admin/webhook-delivery/action/replay?pks=not-an-id")
    assert forged.status_code == 409 and "not-an-id" in forged.text
    replayed = await logged_in.get(f"/admin/webhook-delivery/action/replay?pks={row}")
    assert replayed.status_code == 303
    async with unit_of_work(state, "test") as ctx:
        again = await ctx.session.get(WebhookDelivery, row)
        assert again is not None
        assert (again.status, again.attempts, again.last_error) == (DeliveryStatus.pending, 0, None)
