"""Every wire model against rest_service's OpenAPI schema: the same field names, types,
formats, enum values, nullability and arrays as the route it is read from. A field added or
dropped on either side fails here, not in production."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from common.infrastructure import wire
from rest_service.app.main import app

Schema = dict[str, Any]

#: (wire model, method, path of the route RestClient reads it from)
ROUTES: list[tuple[type[BaseModel], str, str]] = [
    (wire.User, "get", "/api/users/{user_id}"),
    (wire.Thread, "get", "/api/threads/{thread}"),
    (wire.Message, "get", "/api/threads/{thread_id}/messages"),
    (wire.SearchHit, "get", "/api/messages/search"),
    (wire.TurnBackground, "post", "/api/threads/context"),
    (wire.ThreadSummary, "put", "/api/threads/{thread_id}/summary"),
    (wire.SummaryBacklog, "get", "/api/threads/{thread_id}/summary/backlog"),
    (wire.LLMModel, "get", "/api/llm-models/{model_id}"),
    (wire.ProviderRef, "get", "/api/llm-models/{model_id}"),
    (wire.ConfigSnapshot, "get", "/api/config"),
    (wire.CalendarCredentials, "get", "/api/users/{user_id}/calendar-credentials"),
    (wire.CalendarCredentials, "get", "/api/users/{user_id}/calendar-accounts"),
    (wire.CalendarCredentials, "put", "/api/users/{user_id}/calendar-accounts/default"),
    (wire.CronJob, "get", "/api/cron-jobs/{job_id}"),
    (wire.CronJobRun, "get", "/api/cron-jobs/{job_id}/runs"),
    (wire.ToolInvocation, "post", "/api/tool-invocations/"),
    (wire.ProfileFact, "get", "/api/users/{user_id}/facts"),
    (wire.Task, "get", "/api/users/{user_id}/tasks"),
    (wire.Task, "get", "/api/users/{user_id}/tasks/{task_id}"),
    (wire.Task, "post", "/api/users/{user_id}/tasks"),
    (wire.Task, "patch", "/api/users/{user_id}/tasks/{task_id}"),
    (wire.Task, "put", "/api/users/{user_id}/tasks/{task_id}/google"),
    (wire.TaskSync, "get", "/api/users/{user_id}/task-sync"),
    (wire.TaskSync, "put", "/api/users/{user_id}/task-sync"),
    (wire.UserUsage, "get", "/api/users/{user_id}/usage"),
    (wire.User, "post", "/api/users/by-identity"),
    (wire.TelegramUser, "get", "/api/users/by-telegram/{telegram_id}"),
    (wire.Identity, "get", "/api/users/{user_id}/identities"),
    (wire.LinkCode, "post", "/api/users/{user_id}/link-codes"),
    (wire.Linked, "post", "/api/users/link"),
    (wire.User, "delete", "/api/users/{user_id}/identities/{channel}/{external_id}"),
    (wire.KnowledgeHit, "get", "/api/knowledge/search"),
    (wire.CatalogueItem, "get", "/api/catalogue/search"),
    (wire.Contact, "get", "/api/contacts/of/{user_id}/{assistant_id}"),
    (wire.Lead, "post", "/api/leads/interest"),
    (wire.Feedback, "post", "/api/feedback/"),
    (wire.Handoff, "post", "/api/handoffs/"),
    (wire.Handoff, "post", "/api/handoffs/{handoff_id}/reply"),
    (wire.Handoff, "post", "/api/handoffs/{handoff_id}/return"),
    (wire.Bot, "get", "/api/bots/{bot_id}"),
    (wire.Pairing, "post", "/api/pairings"),
    (wire.Pairing, "get", "/api/pairings"),
    (wire.Pairing, "post", "/api/pairings/{code}/approve"),
    (wire.ApiClient, "post", "/api/api-clients/authenticate"),
    (wire.SnapshotExperiment, "get", "/api/config"),
    (wire.SnapshotVariant, "get", "/api/config"),
]


@pytest.fixture(scope="module")
def openapi() -> Schema:
    return app.openapi()


def shape(schema: Schema, defs: dict[str, Schema]) -> Any:
    """A schema reduced to what the contract is about, with references followed."""
    if "$ref" in schema:
        return shape(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "enum" in schema:
        return ("enum", tuple(sorted(schema["enum"])))
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        nullable = len(options) < len(schema["anyOf"])
        inner = tuple(shape(s, defs) for s in options)
        return ("nullable" if nullable else "any_of", inner[0] if len(inner) == 1 else inner)
    kind = schema.get("type")
    if kind == "array":
        return ("array", shape(schema.get("items", {}), defs))
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties")
        if not properties:
            return ("object",)
        return ("model", {name: shape(p, defs) for name, p in properties.items()})
    if kind == "string":
        return ("string", schema.get("format"))
    return (kind or "any",)


def model_of(openapi: Schema, ref: str) -> Any:
    return shape({"$ref": ref}, openapi["components"]["schemas"])


def wire_shape(model: type[BaseModel]) -> Any:
    schema = model.model_json_schema(ref_template="#/$defs/{model}")
    return shape(schema, {**schema.get("$defs", {}), model.__name__: schema})


def route_model(openapi: Schema, method: str, path: str, model: type[BaseModel]) -> Any:
    """The response component of the route: the first model one (inside an array too) whose
    fields are named like the wire model's, so a route answering a nested one finds it."""
    operation = openapi["paths"][path][method]
    response = next(r for code, r in operation["responses"].items() if code.startswith("2"))
    refs = _refs(response["content"]["application/json"]["schema"], openapi)
    fields = set(model.model_fields)
    candidates = [model_of(openapi, ref) for ref in refs]
    models = [c for c in candidates if c[0] == "model"]
    return max(models, key=lambda m: len(fields & set(m[1])))


def _refs(schema: Any, openapi: Schema) -> list[str]:
    """Every component referenced from `schema`, nested ones included, outermost first."""
    found: list[str] = []
    pending = [schema]
    while pending:
        item = pending.pop(0)
        if isinstance(item, dict):
            ref = item.get("$ref")
            if ref and ref not in found:
                found.append(ref)
                pending.append(openapi["components"]["schemas"][ref.rsplit("/", 1)[-1]])
            pending.extend(v for k, v in item.items() if k != "$ref")
        elif isinstance(item, list):
            pending.extend(item)
    return found


@pytest.mark.parametrize(
    ("model", "method", "path"), ROUTES, ids=lambda v: getattr(v, "__name__", str(v))
)
def test_the_wire_model_is_the_route_s_schema(
    openapi: Schema, model: type[BaseModel], method: str, path: str
) -> None:
    assert wire_shape(model) == route_model(openapi, method, path, model)


def test_the_message_sent_is_the_route_s_request_body(openapi: Schema) -> None:
    body = openapi["paths"]["/api/threads/{thread_id}/messages"]["post"]["requestBody"]
    refs = _refs(body["content"]["application/json"]["schema"], openapi)
    single = next(ref for ref in refs if "Batch" not in ref)
    assert wire_shape(wire.MessageIn) == model_of(openapi, single)


#: (request model, method, path, whether a None the client holds is sent as null): a partial
#: update or a create that leaves None out sends only what is set, so the route's field need
#: not be nullable there.
REQUESTS: list[tuple[type[BaseModel], str, str, bool]] = [
    (wire.UserIn, "post", "/api/users/", True),
    (wire.UserChanges, "put", "/api/users/{user_id}", False),
    (wire.IdentityIn, "post", "/api/users/by-identity", True),
    (wire.LinkIn, "post", "/api/users/link", True),
    (wire.FactIn, "post", "/api/users/{user_id}/facts", True),
    (wire.FactIn, "put", "/api/users/{user_id}/facts/{fact_id}", True),
    (wire.FactEmbeddingBatch, "put", "/api/users/{user_id}/facts/embeddings", True),
    (wire.TaskIn, "post", "/api/users/{user_id}/tasks", False),
    (wire.TaskChanges, "patch", "/api/users/{user_id}/tasks/{task_id}", True),
    (wire.TaskGoogleLink, "put", "/api/users/{user_id}/tasks/{task_id}/google", True),
    (wire.ThreadKey, "post", "/api/threads/", True),
    (wire.ThreadsReset, "post", "/api/threads/reset", True),
    (wire.TurnBackgroundQuery, "post", "/api/threads/context", True),
    (wire.SummaryWrite, "put", "/api/threads/{thread_id}/summary", True),
    (wire.CredentialsIn, "put", "/api/users/{user_id}/calendar-credentials", True),
    (wire.CredentialsIn, "put", "/api/users/{user_id}/calendar-credentials/pending", True),
    (wire.DefaultAccountIn, "put", "/api/users/{user_id}/calendar-accounts/default", True),
    (wire.CronJobIn, "post", "/api/cron-jobs/", False),
    (wire.CronJobChanges, "put", "/api/cron-jobs/{job_id}", False),
    (wire.CronJobRunIn, "post", "/api/cron-jobs/{job_id}/runs", True),
    (wire.CronJobDoneIn, "post", "/api/cron-jobs/{job_id}/done", True),
    (wire.ToolInvocationIn, "post", "/api/tool-invocations/", True),
    (wire.MessageBatchIn, "post", "/api/threads/{thread_id}/messages", False),
    (wire.EmbeddingBatch, "put", "/api/threads/{thread_id}/embeddings", True),
    (wire.PendingMaxAge, "post", "/api/users/{user_id}/calendar-credentials/pending/confirm", True),
    (wire.PendingMaxAge, "post", "/api/users/calendar-credentials/pending/expire", True),
    (wire.ContactIn, "put", "/api/contacts/of/{user_id}/{assistant_id}", False),
    (wire.InterestIn, "post", "/api/leads/interest", True),
    (wire.FeedbackIn, "post", "/api/feedback/", False),
    (wire.HandoffIn, "post", "/api/handoffs/", True),
    (wire.HandoffReply, "post", "/api/handoffs/{handoff_id}/reply", True),
    (wire.HandoffReturn, "post", "/api/handoffs/{handoff_id}/return", True),
    (wire.PairingIn, "post", "/api/pairings", True),
]


def _not_null(kind: Any) -> Any:
    return kind[1] if isinstance(kind, tuple) and kind[0] == "nullable" else kind


@pytest.mark.parametrize(
    ("model", "method", "path", "nulls_sent"),
    REQUESTS,
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_a_request_body_the_client_sends_is_what_the_route_reads(
    openapi: Schema, model: type[BaseModel], method: str, path: str, nulls_sent: bool
) -> None:
    body = openapi["paths"][path][method]["requestBody"]["content"]["application/json"]
    route = model_of(openapi, _refs(body["schema"], openapi)[0])
    sent = wire_shape(model)
    assert route[0] == "model" and set(sent[1]) <= set(route[1]), "fields the route lacks"
    for name, kind in sent[1].items():
        expected = route[1][name]
        if nulls_sent:
            assert kind == expected, name
        else:
            assert _not_null(kind) == _not_null(expected), name


def test_the_snapshot_carries_every_field_of_an_assistant(openapi: Schema) -> None:
    """The snapshot's assistants are the API's assistants plus their tools."""
    snapshot = wire_shape(wire.SnapshotAssistant)
    fields = {name: kind for name, kind in snapshot[1].items() if name != "tools"}
    assert ("model", fields) == route_model(
        openapi, "get", "/api/assistants/{assistant_id}", wire.SnapshotAssistant
    )


def test_every_model_rest_client_returns_is_checked() -> None:
    checked = {model for model, _, _ in ROUTES} | {wire.MessageIn, wire.SnapshotAssistant}
    checked |= {model for model, *_ in REQUESTS}
    nested = {
        wire.SnapshotTool,
        wire.MemoryQuery,
        wire.SnapshotBot,
        wire.EmbeddingIn,
        wire.FactEmbeddingIn,
    }  # checked through the model holding them
    models = {
        value
        for value in vars(wire).values()
        if isinstance(value, type) and issubclass(value, wire.WireModel)
    }
    assert models - {wire.WireModel} == checked | nested
