"""Tracing on for a block, its spans kept in memory by the SDK's own exporter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from common.infrastructure.tracing import start_tracing, stop_tracing


@contextmanager
def recorded(*services: str) -> Iterator[InMemorySpanExporter]:
    """Tracing on for `services` (the last one's code runs here), off again after."""
    exporter = InMemorySpanExporter()
    for service in services:
        start_tracing(service, exporter=exporter)
    try:
        yield exporter
    finally:
        stop_tracing()


def named(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    """The one finished span called `name`."""
    found = [s for s in exporter.get_finished_spans() if s.name == name]
    assert len(found) == 1, [s.name for s in exporter.get_finished_spans()]
    return found[0]


def is_child(child: ReadableSpan, parent: ReadableSpan) -> bool:
    assert child.parent is not None, f"{child.name} has no parent"
    return (child.context.trace_id, child.parent.span_id) == (
        parent.context.trace_id,
        parent.context.span_id,
    )


def service_of(span: ReadableSpan) -> object:
    return span.resource.attributes["service.name"]
