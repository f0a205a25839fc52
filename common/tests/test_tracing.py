"""Traces (decision 0069): spans, their parents, the context in a queue entry and across a
queue to its consumer, and nothing at all while tracing is off."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from opentelemetry.trace import SpanKind

from common.infrastructure import tracing
from common.infrastructure.queue import ConsumerConfig, StreamConsumer, StreamPublisher
from common.infrastructure.queue_messages import TRACEPARENT_MAX, OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.settings import ServiceSettings
from common.tests.spans import is_child, named, recorded, service_of
from sandbox.otlp_receiver import OtlpReceiver
from tests.waiting import until

STREAM = "queue:traced"


def outgoing(**fields: object) -> OutgoingMessage:
    return OutgoingMessage.model_validate(
        {"message_id": str(uuid.uuid4()), "chat_id": 7, "text": "hi", **fields}
    )


def hex_ids(traceparent: str) -> tuple[int, int]:
    """A `traceparent`'s trace and parent span ids."""
    _version, trace_id, span_id, _flags = traceparent.split("-")
    return int(trace_id, 16), int(span_id, 16)


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as started:
        yield started


def test_with_an_endpoint_spans_go_to_it_over_otlp_http_under_the_service_name(
    receiver: OtlpReceiver,
) -> None:
    settings = ServiceSettings(
        environment="test",
        otel_exporter_otlp_endpoint=f"{receiver.url}/",
        otel_service_name="assistant-eu",
    )
    tracing.configure_tracing(settings, "assistant")
    try:
        with tracing.span("turn"), tracing.span("chat sandbox-default", kind="client"):
            pass
    finally:
        tracing.stop_tracing()  # exports what is batched, as a service's exit does
    got = {(s.service, s.name, s.kind) for s in receiver.received()}
    assert got == {
        ("assistant-eu", "turn", "internal"),
        ("assistant-eu", "chat sandbox-default", "client"),
    }


def test_an_endpoint_without_the_tracing_extra_is_refused_saying_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # as if not installed
    settings = ServiceSettings(environment="test", otel_exporter_otlp_endpoint="http://x:4318")
    with pytest.raises(tracing.TracingUnavailable, match="TRACING=true"):
        tracing.configure_tracing(settings, "assistant")
    assert not tracing.enabled()


def test_off_every_helper_does_nothing_and_a_message_carries_no_context() -> None:
    tracing.configure_tracing(ServiceSettings(environment="test"), "assistant")
    assert not tracing.enabled()
    headers: dict[str, str] = {}
    with (
        tracing.span("anything", kind="client", carrier={"traceparent": "00-ab-cd-01"}),
        tracing.call_to("rest_service", "GET", headers),
    ):
        tracing.annotate({"a": 1})
        tracing.rename("else")
        tracing.inject(headers)
        assert tracing.traceparent() is None
        message = outgoing()
        assert message.traced() is message
        assert json.loads(message.to_json())["traceparent"] is None
    assert headers == {}


def test_a_span_inside_another_is_its_child_in_the_same_trace() -> None:
    with recorded("assistant") as spans:
        with tracing.span("turn"), tracing.span("chat model", kind="client"):
            tracing.annotate({"gen_ai.usage.input_tokens": 12})
            tracing.rename("chat sandbox-default")
        turn, chat = named(spans, "turn"), named(spans, "chat sandbox-default")
    assert is_child(chat, turn) and turn.parent is None
    assert chat.kind is SpanKind.CLIENT and chat.attributes == {"gen_ai.usage.input_tokens": 12}
    assert service_of(chat) == "assistant"
    assert not tracing.enabled()


def test_a_message_written_in_a_span_carries_that_span_as_its_traceparent() -> None:
    with recorded("tg_bot") as spans:
        with tracing.span("telegram update"):
            data = json.loads(outgoing().to_json())
            kept = outgoing(traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01")
            assert kept.traced() is kept  # a context it carries already stays
        update = named(spans, "telegram update")
    assert hex_ids(data["traceparent"]) == (update.context.trace_id, update.context.span_id)


def test_an_entry_without_a_context_or_with_one_that_cannot_be_reads_as_untraced() -> None:
    old = {"v": 1, "message_id": str(uuid.uuid4()), "chat_id": 1, "text": "x"}
    assert OutgoingMessage.model_validate(old).traceparent is None
    for odd in (42, "0" * (TRACEPARENT_MAX + 1), ["00-x"]):
        assert OutgoingMessage.model_validate({**old, "traceparent": odd}).traceparent is None


def test_a_carried_context_is_the_parent_and_an_empty_carrier_starts_a_trace() -> None:
    with recorded("assistant") as spans:
        with tracing.span("producer"):
            carried = {"traceparent": tracing.traceparent() or ""}
        with tracing.span("unrelated"):
            with tracing.span("consumer", kind="consumer", carrier=carried):
                pass
            with tracing.span("fresh", carrier={}):
                pass
        producer, consumer = named(spans, "producer"), named(spans, "consumer")
        fresh = named(spans, "fresh")
    assert is_child(consumer, producer)
    assert fresh.parent is None


def test_a_call_to_another_service_puts_its_client_span_in_the_headers() -> None:
    with recorded("assistant") as spans:
        headers: dict[str, str] = {}
        with tracing.span("turn"), tracing.call_to("rest_service", "GET", headers):
            pass
        call = named(spans, "GET")
    assert is_child(call, named(spans, "turn"))
    assert hex_ids(headers["traceparent"]) == (call.context.trace_id, call.context.span_id)
    assert call.attributes is not None and call.attributes["peer.service"] == "rest_service"


def test_a_span_in_trace_only_is_none_outside_a_trace() -> None:
    with recorded("tg_bot") as spans:
        with tracing.span("telegram getUpdates", in_trace_only=True):
            pass
        with tracing.span("consumed"), tracing.span("telegram sendMessage", in_trace_only=True):
            pass
        names = [s.name for s in spans.get_finished_spans()]
    assert names == ["telegram sendMessage", "consumed"]


def test_services_in_one_process_each_name_their_own_spans() -> None:
    with recorded("rest_service", "assistant") as spans:
        with tracing.span("request", service="rest_service"), tracing.span("inner"):
            pass
        with tracing.span("turn"):
            pass
        assert {s.name: service_of(s) for s in spans.get_finished_spans()} == {
            "request": "rest_service",
            "inner": "rest_service",
            "turn": "assistant",
        }


async def test_a_queue_entry_carries_the_trace_to_its_consumer(
    redis: aioredis.Redis, names: Names
) -> None:
    handled: list[str | None] = []

    async def handle(message: OutgoingMessage) -> None:
        with tracing.span("handled"):
            handled.append(message.text)

    config = ConsumerConfig(block_ms=100, claim_interval_s=0.1)
    consumer = StreamConsumer(redis, names, STREAM, "g", OutgoingMessage, handle, config=config)
    with recorded("tg_bot") as spans:
        await consumer.ensure_group()
        running = asyncio.create_task(consumer.run())  # outside any span, as in a service
        try:
            publisher = StreamPublisher(redis, names)
            with tracing.span("publish"):
                await publisher.publish(STREAM, outgoing(text="traced"))
            await publisher.publish(STREAM, outgoing(text="untraced"))  # an entry from before
            await until(lambda: len(handled) == 2, 10, "both entries handled")
        finally:
            consumer.stop()
            await running
        finished = spans.get_finished_spans()
    published = named(spans, "publish")
    consumed = [s for s in finished if s.name == f"{STREAM} process"]
    assert [s.kind for s in consumed] == [SpanKind.CONSUMER] * 2
    traced, untraced = sorted(consumed, key=lambda s: s.parent is None)
    assert is_child(traced, published)
    assert untraced.parent is None and untraced.context.trace_id != published.context.trace_id
    inner = [s for s in finished if s.name == "handled"]
    assert sorted(is_child(s, traced) for s in inner) == [False, True]
