"""A call to rest_service joins the caller's trace (decision 0069): the client's span carries
its context in `traceparent`, and rest_service's server span, named by the route, is its
child."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind

from common.infrastructure import tracing
from common.infrastructure.errors import NotFoundError
from common.infrastructure.rest_client import RestClient
from common.tests.spans import is_child, named, recorded, service_of


async def test_a_call_to_rest_service_is_a_child_span_in_the_callers_trace(
    rest: RestClient,
) -> None:
    with recorded("rest_service", "assistant") as spans:
        with tracing.span("turn"):
            await rest.get_config()
            with pytest.raises(NotFoundError):
                await rest.get_user_by_telegram(424242)
        turn = named(spans, "turn")
        client = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT]
        config, missing = (
            named(spans, "GET /api/config"),
            named(spans, "GET /api/users/by-telegram/{telegram_id}"),
        )
    assert [c.attributes and c.attributes["peer.service"] for c in client] == ["rest_service"] * 2
    assert all("url.path" not in (s.attributes or {}) for s in spans.get_finished_spans())
    assert all(is_child(c, turn) for c in client)
    assert is_child(config, client[0]) and is_child(missing, client[1])
    assert (config.kind, service_of(config), service_of(client[0])) == (
        SpanKind.SERVER,
        "rest_service",
        "assistant",
    )
    assert config.attributes is not None and config.attributes["http.response.status_code"] == 200
    assert missing.attributes is not None and missing.attributes["http.response.status_code"] == 404
