"""An OpenTelemetry collector stand-in: OTLP/HTTP's `POST /v1/traces`, the protobuf
`ExportTraceServiceRequest` decoded with the opentelemetry-proto package (as a collector
does), every span kept for a test to read.

Standalone: `python -m sandbox.otlp_receiver --port 4318`, then
`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318`; it prints each span as it comes. In-process:
`OtlpReceiver().start_in_thread()`, `.spans` (`ReceivedSpan`s), `.trace(trace_id)`.
"""

from __future__ import annotations

import argparse
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from sandbox.server import StandInServer

PROTOBUF = "application/x-protobuf"
#: The OTLP span kinds by their protobuf numbers, as the SDK names them.
KINDS = {k: n.removeprefix("SPAN_KIND_").lower() for n, k in Span.SpanKind.items()}


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as a collector sees it: ids in hex, the service from its resource."""

    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    #: "" for a trace's root span.
    parent_span_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    #: 2: error (`STATUS_CODE_ERROR`), 1: ok, 0: unset.
    status: int = 0


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    return getattr(value, which) if which else None


def decoded(body: bytes) -> list[ReceivedSpan]:
    """The spans of one export request; `DecodeError` when it is not one."""
    request = ExportTraceServiceRequest.FromString(body)
    found = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                found.append(
                    ReceivedSpan(
                        service=str(resource.get("service.name", "")),
                        name=span.name,
                        kind=KINDS.get(span.kind, "unspecified"),
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        status=span.status.code,
                    )
                )
    return found


class OtlpReceiver(StandInServer):
    thread_name = "otlp-receiver"

    def __init__(self, *, echo: bool = False) -> None:
        super().__init__()
        self.spans: list[ReceivedSpan] = []
        self.echo = echo
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """What `OTEL_EXPORTER_OTLP_ENDPOINT` is set to (the exporter adds `/v1/traces`)."""
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/traces", self._traces)
        return app

    def received(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self.spans)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [s for s in self.received() if s.trace_id == trace_id]

    async def _traces(self, request: web.Request) -> web.Response:
        if request.content_type != PROTOBUF:
            return web.Response(status=415, text=f"OTLP/HTTP here is {PROTOBUF} only")
        try:
            spans = decoded(await request.read())
        except DecodeError:
            return web.Response(status=400, text="not an ExportTraceServiceRequest")
        with self._lock:
            self.spans += spans
        for span in spans if self.echo else ():
            print(f"{span.service:24} {span.trace_id} {span.parent_span_id or '-':16} {span.name}")
        body = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=body, content_type=PROTOBUF)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318)
    args = parser.parse_args()
    web.run_app(OtlpReceiver(echo=True).app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
