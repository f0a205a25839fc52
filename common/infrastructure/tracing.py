"""Traces (decision 0069): one trace per message, from the update that brought it through the
queues, the assistant's turn, its calls to rest_service, the model and the tools, to the
answer sent; exported over OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`.

Off unless that endpoint is set, and then free: OpenTelemetry is imported by
`configure_tracing` only when it turns tracing on, and every helper here is one check of a
module global while it is off. Context crosses HTTP as the W3C `traceparent` header and a
queue entry as its message's `traceparent` field (`common/infrastructure/queue_messages.py`).

Several services in one process (`up --one-process`) share one exporter; each span names
the service whose code made it: the one that configured tracing in this context, or the one
`span(service=...)` names (a FastAPI app's requests run outside its lifespan's context).
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from common.infrastructure.settings import ServiceSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

#: The W3C header (and queue field) that carries a span's context.
TRACEPARENT = "traceparent"
#: What OTLP/HTTP's base endpoint is followed by for traces (the specification's path).
TRACES_PATH = "/v1/traces"

Kind = Literal["internal", "server", "client", "producer", "consumer"]
Attributes = Mapping[str, str | int | float | bool]


class TracingUnavailable(RuntimeError):
    """Traces are asked for where the `tracing` extra is not installed: the service does not
    start, rather than run without the traces its operator expects."""


@dataclass
class _Tracing:
    processor: SpanProcessor
    tracers: dict[str, Tracer] = field(default_factory=dict)


#: None: tracing is off (no OpenTelemetry module was imported for it).
_state: _Tracing | None = None
#: What `span` is while tracing is off (one object: entering it does nothing).
_NOTHING: AbstractContextManager[None] = nullcontext()
#: The service whose code runs in this context.
_service: ContextVar[str | None] = ContextVar("tracing_service", default=None)


def enabled() -> bool:
    return _state is not None


def configure_tracing(settings: ServiceSettings, service: str) -> None:
    """Turn tracing on for `service` when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (its spans
    named `OTEL_SERVICE_NAME`, by default the service's own name); else nothing."""
    endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/")
    if not endpoint:
        return
    try:
        start_tracing(service, name=settings.otel_service_name or service, endpoint=endpoint)
    except ImportError as exc:
        raise TracingUnavailable(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set, but OpenTelemetry's SDK and exporter are not "
            "installed: the `tracing` extra (an image built with --build-arg TRACING=true)"
        ) from exc


def start_tracing(
    service: str,
    *,
    name: str | None = None,
    endpoint: str | None = None,
    exporter: SpanExporter | None = None,
) -> None:
    """Trace `service`'s code from here on: spans batched to OTLP/HTTP at `endpoint`, or, given
    an `exporter` (the tests' in-memory one), handed to it at once."""
    global _state
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    if _state is None:
        _state = _Tracing(_processor(endpoint, exporter))
        atexit.register(_state.processor.shutdown)
    provider = TracerProvider(
        resource=Resource.create({"service.name": name or service}), shutdown_on_exit=False
    )
    provider.add_span_processor(_state.processor)
    _state.tracers[service] = provider.get_tracer("smart_assistant")
    _service.set(service)


def _processor(endpoint: str | None, exporter: SpanExporter | None) -> SpanProcessor:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is not None:
        return SimpleSpanProcessor(exporter)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}{TRACES_PATH}"))


def stop_tracing() -> None:
    """Export what is left and turn tracing off (the end of a test; atexit does it for a
    service)."""
    global _state
    if _state is not None:
        atexit.unregister(_state.processor.shutdown)
        _state.processor.shutdown()
        _state = None


def _tracer(state: _Tracing) -> Tracer:
    found = state.tracers.get(_service.get() or "")
    return found if found is not None else next(iter(state.tracers.values()))


def span(
    name: str,
    *,
    kind: Kind = "internal",
    attributes: Attributes | None = None,
    carrier: Mapping[str, str] | None = None,
    service: str | None = None,
    in_trace_only: bool = False,
) -> AbstractContextManager[None]:
    """A span around the block, a child of the current one; given a `carrier` (an HTTP
    request's headers, `{"traceparent": ...}` of a queue entry), a child of the context in it,
    or a trace's root when it carries none. `in_trace_only`: none outside a trace (a long
    poll is no trace of its own). While tracing is off, a context that does nothing."""
    state = _state
    if state is None:
        return _NOTHING
    return _span(state, name, kind, attributes, carrier, service, in_trace_only)


@contextmanager
def _span(
    state: _Tracing,
    name: str,
    kind: Kind,
    attributes: Attributes | None,
    carrier: Mapping[str, str] | None,
    service: str | None,
    in_trace_only: bool,
) -> Iterator[None]:
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    if in_trace_only and not trace.get_current_span().get_span_context().is_valid:
        yield
        return
    token = _service.set(service) if service is not None else None
    try:
        parent = None if carrier is None else TraceContextTextMapPropagator().extract(carrier)
        with _tracer(state).start_as_current_span(
            name, context=parent, kind=trace.SpanKind[kind.upper()], attributes=attributes
        ):
            yield
    finally:
        if token is not None:
            _service.reset(token)


def call_to(
    peer: str, method: str, headers: MutableMapping[str, str]
) -> AbstractContextManager[None]:
    """A client span for a call to one of our services (`peer`), its context put in
    `headers`, so the service's server span, named by the route, is its child. Not the path
    itself: it may hold an address or a one-time code."""
    return _NOTHING if _state is None else _call(peer, method, headers)


@contextmanager
def _call(peer: str, method: str, headers: MutableMapping[str, str]) -> Iterator[None]:
    attributes = {"peer.service": peer, "http.request.method": method}
    with span(method, kind="client", attributes=attributes):
        inject(headers)
        yield


def annotate(attributes: Attributes) -> None:
    """Add `attributes` to the current span (what is known only at its end: tokens, status)."""
    if _state is None:
        return
    from opentelemetry import trace

    trace.get_current_span().set_attributes(attributes)


def rename(name: str) -> None:
    """Name the current span by what is known only at its end (a request's route)."""
    if _state is None:
        return
    from opentelemetry import trace

    trace.get_current_span().update_name(name)


def inject(headers: MutableMapping[str, str]) -> None:
    """Put the current span's context into `headers` (a call to one of our services)."""
    if _state is None:
        return
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    TraceContextTextMapPropagator().inject(headers)


def traceparent() -> str | None:
    """The current span's context as a `traceparent` value; None outside a trace."""
    if _state is None:
        return None
    found: dict[str, str] = {}
    inject(found)
    return found.get(TRACEPARENT)
