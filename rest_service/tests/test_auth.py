"""Every /api route: 401 without a token or with an unknown one, 403 for the wrong role.
The table below is the "who" column of docs/rest_api.md; a route missing from it fails."""

from __future__ import annotations

import uuid

import httpx
import pytest

from common.infrastructure.service_tokens import TokenTable
from rest_service.app.main import app
from rest_service.app.settings import Settings
from rest_service.tests.conftest import assert_error

A, S, S_ONLY = "admin", "either", "service only"

WHO = {
    ("GET", "/api/assistants/"): S,
    ("POST", "/api/assistants/"): A,
    ("GET", "/api/assistants/{assistant_id}"): S,
    ("PUT", "/api/assistants/{assistant_id}"): A,
    ("DELETE", "/api/assistants/{assistant_id}"): A,
    ("GET", "/api/assistants/{assistant_id}/tools"): S,
    ("POST", "/api/assistants/{assistant_id}/tools/{tool_id}"): A,
    ("DELETE", "/api/assistants/{assistant_id}/tools/{tool_id}"): A,
    ("GET", "/api/tools/"): S,
    ("POST", "/api/tools/"): A,
    ("GET", "/api/tools/{tool_id}"): S,
    ("PUT", "/api/tools/{tool_id}"): A,
    ("DELETE", "/api/tools/{tool_id}"): A,
    ("GET", "/api/assistant-tools/"): A,
    ("POST", "/api/assistant-tools/"): A,
    ("DELETE", "/api/assistant-tools/{link_id}"): A,
    ("GET", "/api/users/"): S,
    ("POST", "/api/users/"): S,
    ("GET", "/api/users/by-telegram/{telegram_id}"): S,
    ("GET", "/api/users/{user_id}"): S,
    ("PUT", "/api/users/{user_id}"): S,
    ("DELETE", "/api/users/{user_id}"): S,
    ("GET", "/api/users/{user_id}/facts"): S,
    ("POST", "/api/users/{user_id}/facts"): S,
    ("PUT", "/api/users/{user_id}/facts/{fact_id}"): S,
    ("DELETE", "/api/users/{user_id}/facts/{fact_id}"): S,
    ("DELETE", "/api/users/{user_id}/facts"): S,
    ("PUT", "/api/users/{user_id}/facts/embeddings"): S,
    ("GET", "/api/users/{user_id}/tasks"): S,
    ("POST", "/api/users/{user_id}/tasks"): S,
    ("GET", "/api/users/{user_id}/tasks/{task_id}"): S,
    ("PATCH", "/api/users/{user_id}/tasks/{task_id}"): S,
    ("DELETE", "/api/users/{user_id}/tasks/{task_id}"): S,
    ("PUT", "/api/users/{user_id}/tasks/{task_id}/google"): S,
    ("GET", "/api/users/{user_id}/task-sync"): S,
    ("PUT", "/api/users/{user_id}/task-sync"): S,
    ("DELETE", "/api/users/{user_id}/task-sync/deletions/{google_task_id}"): S,
    ("GET", "/api/users/{user_id}/usage"): S,
    ("POST", "/api/users/by-identity"): S_ONLY,
    ("GET", "/api/users/{user_id}/identities"): S,
    ("POST", "/api/users/{user_id}/link-codes"): S_ONLY,
    ("POST", "/api/users/link"): S_ONLY,
    ("DELETE", "/api/users/{user_id}/identities/{channel}/{external_id}"): S_ONLY,
    ("GET", "/api/users/{user_id}/calendar-credentials"): S_ONLY,
    ("PUT", "/api/users/{user_id}/calendar-credentials"): S_ONLY,
    ("DELETE", "/api/users/{user_id}/calendar-credentials"): S_ONLY,
    ("GET", "/api/users/{user_id}/calendar-credentials/pending"): S_ONLY,
    ("PUT", "/api/users/{user_id}/calendar-credentials/pending"): S_ONLY,
    ("DELETE", "/api/users/{user_id}/calendar-credentials/pending"): S_ONLY,
    ("POST", "/api/users/{user_id}/calendar-credentials/pending/confirm"): S_ONLY,
    ("POST", "/api/users/calendar-credentials/pending/expire"): S_ONLY,
    ("GET", "/api/users/{user_id}/calendar-accounts"): S_ONLY,
    ("PUT", "/api/users/{user_id}/calendar-accounts/default"): S_ONLY,
    ("POST", "/api/threads/"): S,
    ("GET", "/api/threads/"): S,
    ("POST", "/api/threads/reset"): S,
    ("POST", "/api/threads/context"): S,
    ("GET", "/api/threads/{thread}"): S,
    ("POST", "/api/threads/{thread_id}/messages"): S,
    ("PUT", "/api/threads/{thread_id}/embeddings"): S,
    ("GET", "/api/threads/{thread_id}/messages"): S,
    ("GET", "/api/threads/{thread_id}/messages/recent"): S,
    ("GET", "/api/threads/{thread_id}/summary/backlog"): S,
    ("PUT", "/api/threads/{thread_id}/summary"): S,
    ("GET", "/api/messages/search"): S,
    ("GET", "/api/llm-providers/"): A,
    ("POST", "/api/llm-providers/"): A,
    ("GET", "/api/llm-providers/{provider_id}"): A,
    ("PUT", "/api/llm-providers/{provider_id}"): A,
    ("DELETE", "/api/llm-providers/{provider_id}"): A,
    ("GET", "/api/llm-providers/{provider_id}/api-key"): S_ONLY,
    ("GET", "/api/bots/"): S,
    ("POST", "/api/bots/"): A,
    ("GET", "/api/bots/{bot_id}"): S,
    ("PUT", "/api/bots/{bot_id}"): A,
    ("DELETE", "/api/bots/{bot_id}"): A,
    ("GET", "/api/bots/{bot_id}/token"): S_ONLY,
    ("PUT", "/api/bots/{bot_id}/telegram-username"): S_ONLY,
    ("GET", "/api/llm-models/"): S,
    ("POST", "/api/llm-models/"): A,
    ("GET", "/api/llm-models/{model_id}"): S,
    ("PUT", "/api/llm-models/{model_id}"): A,
    ("DELETE", "/api/llm-models/{model_id}"): A,
    ("GET", "/api/cron-jobs/"): S,
    ("POST", "/api/cron-jobs/"): S,
    ("GET", "/api/cron-jobs/{job_id}"): S,
    ("PUT", "/api/cron-jobs/{job_id}"): S,
    ("DELETE", "/api/cron-jobs/{job_id}"): S,
    ("GET", "/api/cron-jobs/{job_id}/runs"): S,
    ("POST", "/api/cron-jobs/{job_id}/runs"): S,
    ("POST", "/api/cron-jobs/{job_id}/done"): S,
    ("GET", "/api/cron-job-runs/"): S,
    ("POST", "/api/tool-invocations/"): S,
    ("GET", "/api/tool-invocations/"): A,
    ("GET", "/api/config"): S,
    ("GET", "/api/config/version"): S,
    ("GET", "/api/config/export"): A,
    ("POST", "/api/config/import"): A,
    ("GET", "/api/config/changes"): A,
    ("POST", "/api/config/changes/{change_id}/revert"): A,
    ("GET", "/api/stats"): A,
    ("GET", "/api/knowledge/"): A,
    ("POST", "/api/knowledge/"): A,
    ("GET", "/api/knowledge/search"): S,
    ("POST", "/api/knowledge/import"): A,
    ("GET", "/api/knowledge/{article_id}"): A,
    ("PUT", "/api/knowledge/{article_id}"): A,
    ("DELETE", "/api/knowledge/{article_id}"): A,
    ("GET", "/api/catalogue/"): A,
    ("POST", "/api/catalogue/"): A,
    ("GET", "/api/catalogue/search"): S,
    ("GET", "/api/catalogue/export"): A,
    ("POST", "/api/catalogue/import"): A,
    ("GET", "/api/catalogue/{item_id}"): A,
    ("PUT", "/api/catalogue/{item_id}"): A,
    ("DELETE", "/api/catalogue/{item_id}"): A,
    ("GET", "/api/webhooks/"): A,
    ("POST", "/api/webhooks/"): A,
    ("GET", "/api/webhooks/{webhook_id}"): A,
    ("PUT", "/api/webhooks/{webhook_id}"): A,
    ("DELETE", "/api/webhooks/{webhook_id}"): A,
    ("GET", "/api/webhooks/{webhook_id}/deliveries"): A,
    ("POST", "/api/webhooks/deliveries/{delivery_id}/replay"): A,
    ("GET", "/api/contacts/"): A,
    ("GET", "/api/contacts/of/{user_id}/{assistant_id}"): S,
    ("PUT", "/api/contacts/of/{user_id}/{assistant_id}"): S,
    ("DELETE", "/api/contacts/of/{user_id}/{assistant_id}"): S,
    ("GET", "/api/contacts/{contact_id}"): A,
    ("DELETE", "/api/contacts/{contact_id}"): A,
    ("GET", "/api/leads/"): A,
    ("GET", "/api/leads/export"): A,
    ("POST", "/api/leads/interest"): S,
    ("GET", "/api/leads/{lead_id}"): A,
    ("PUT", "/api/leads/{lead_id}"): A,
    ("DELETE", "/api/leads/{lead_id}"): A,
    ("POST", "/api/feedback/"): S,
    ("GET", "/api/feedback/"): A,
    ("GET", "/api/analytics/feedback"): A,
    ("GET", "/api/experiments/"): A,
    ("POST", "/api/experiments/"): A,
    ("GET", "/api/experiments/{experiment_id}"): A,
    ("PUT", "/api/experiments/{experiment_id}"): A,
    ("DELETE", "/api/experiments/{experiment_id}"): A,
    ("POST", "/api/experiments/{experiment_id}/stop"): A,
    ("POST", "/api/experiments/{experiment_id}/promote"): A,
    ("GET", "/api/experiments/{experiment_id}/results"): A,
    ("GET", "/api/handoffs/"): A,
    ("POST", "/api/handoffs/"): S,
    ("GET", "/api/handoffs/{handoff_id}"): A,
    ("POST", "/api/handoffs/{handoff_id}/reply"): S,
    ("POST", "/api/handoffs/{handoff_id}/return"): S,
    ("GET", "/api/pairings"): A,
    ("POST", "/api/pairings"): S,
    ("POST", "/api/pairings/{code}/approve"): S,
    ("POST", "/api/pairings/{code}/refuse"): S,
    ("GET", "/api/api-clients"): A,
    ("POST", "/api/api-clients"): A,
    ("GET", "/api/api-clients/{client_id}"): A,
    ("PATCH", "/api/api-clients/{client_id}"): A,
    ("DELETE", "/api/api-clients/{client_id}"): A,
    ("POST", "/api/api-clients/{client_id}/key"): A,
    ("POST", "/api/api-clients/{client_id}/webhook-secret"): A,
    ("GET", "/api/api-clients/{client_id}/deliveries"): A,
    # the channels service's token (the api_clients right), the shared one and the admin's
    ("POST", "/api/api-clients/{client_id}/deliveries"): S,
    ("POST", "/api/api-clients/authenticate"): S_ONLY,
}


def _documented() -> list[tuple[str, str]]:
    """From the OpenAPI document: what a client (and schemathesis) can see."""
    paths = app.openapi()["paths"]  # the module's app: its document is built once
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api")
        for method in operations
    )


def _url(path: str) -> str:
    """The path with placeholder ids (the role check comes before the lookup)."""
    return (
        path.replace("{telegram_id}", "1")
        .replace("{thread}", "thread_0")
        .replace("{thread_id}", "thread_0")
        .replace("{change_id}", "1")
        .replace("{channel}", "web")
        .replace("{external_id}", "visitor-1")
        .replace("{code}", "ABCDEF")
        .replace("{google_task_id}", "MTIzNDU2")
        .format_map(
            {
                k: uuid.uuid4()
                for k in (
                    "assistant_id",
                    "bot_id",
                    "tool_id",
                    "link_id",
                    "user_id",
                    "provider_id",
                    "model_id",
                    "article_id",
                    "job_id",
                    "fact_id",
                    "item_id",
                    "webhook_id",
                    "delivery_id",
                    "contact_id",
                    "lead_id",
                    "experiment_id",
                    "handoff_id",
                    "client_id",
                    "task_id",
                )
            }
        )
    )


#: The table's routes: the one test below holds them to the OpenAPI document (building that
#: at collection cost each xdist worker about a second).
ROUTES = sorted(WHO)


def test_the_table_names_every_api_route() -> None:
    assert _documented() == ROUTES


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_no_token_and_unknown_token_are_401(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = await client.request(method, _url(path), headers=headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if WHO.get(r) != S])
async def test_a_valid_token_without_the_right_is_403(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    service: dict[str, str],
    method: str,
    path: str,
) -> None:
    wrong = service if WHO[(method, path)] == A else admin
    response = await client.request(method, _url(path), headers=wrong)
    assert_error(response, 403, "forbidden")


def test_tokens_are_matched_exactly() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        admin_api_token="adm-token",
        service_api_token="svc-token",
    )
    admin, service = (
        TokenTable.from_settings(settings).caller_for("Bearer adm-token"),
        TokenTable.from_settings(settings).caller_for("bearer svc-token"),
    )
    assert admin is not None and admin.role == "admin"
    assert service is not None and service.role == "service"
    for header in ("Bearer adm-toke", "Bearer adm-token2", "Bearer ", "adm-token", None, ""):
        assert TokenTable.from_settings(settings).caller_for(header) is None


async def test_health_docs_and_openapi_are_open(client: httpx.AsyncClient) -> None:
    for path in ("/health", "/docs", "/openapi.json"):
        assert (await client.get(path)).status_code == 200
