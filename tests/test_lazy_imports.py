"""Services start without the libraries they need only on some requests: each
costs CPU and memory at every start, and most deployments never call them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.import_memory import MAIN_MODULES
from ops.services import ROOT

pytestmark = pytest.mark.e2e

JSONSCHEMA = ("jsonschema", "referencing", "rpds", "jsonschema_specifications")

#: A service's main module, and what its import must not pull in.
LAZY = {
    # An idle calendar service never calls Google: ~0.45 s CPU and ~15 MB (google-auth's
    # credentials and the x509 half of cryptography they bring: 40 ms, 2 MB of it).
    "google_calendar_service.src.main": (
        "googleapiclient",
        "httplib2",
        "google_auth_httplib2",
        "requests",
        "google_auth_oauthlib",
        "google.oauth2.credentials",
        "cryptography.x509",
    ),
    # The MCP SDK only for an mcp tool (0.7 s); documents and pictures are read in a child
    # process, never in the assistant's own; jsonschema (with referencing and rpds: ~30 ms,
    # ~2 MB) only for a turn's first tool call.
    "assistant.src.main": ("mcp", "mcp_types", "pypdf", "docx", "PIL", *JSONSCHEMA),
    # The assistant imports every tool's module as it starts (`tool_classes()`); lxml (~1.2 MB)
    # only for a web page read.
    "assistant.src.tools.read_page_tool": ("lxml",),
    # pypdf only for a knowledge import of a PDF (docs/decisions/0046), openpyxl only for an
    # XLSX export of the leads (docs/decisions/0049), jsonschema only for a tool's schema
    # written; the web admin (sqladmin, wtforms, jinja2, its views, markdown-it: ~7 MB) on
    # its first request (`rest_service.app.admin.LazyAdmin`).
    "rest_service.app.main": (
        "pypdf",
        "openpyxl",
        *JSONSCHEMA,
        "sqladmin",
        "wtforms",
        "jinja2",
        "markdown_it",
        "rest_service.app.admin.site",
        "rest_service.app.admin.views",
    ),
}


@pytest.mark.parametrize("module", sorted(LAZY))
def test_a_service_starts_without_its_occasional_libraries(module: str) -> None:
    code = f"import sys, {module}\nprint(','.join(m for m in {LAZY[module]!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "SMART_ASSISTANT_ENV_FILE": ""},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"imported at start: {result.stdout.strip()}"


#: What only tracing loads (decision 0069). Not `opentelemetry.sdk` as a whole: redis-py imports
#: the SDK's metrics whenever the SDK is installed, which is why the SDK is an extra of its own.
TRACING_MODULES = ("opentelemetry.sdk.trace", "opentelemetry.exporter", "opentelemetry.proto")
_TRACING = """
import sys
{block}
from common.infrastructure import tracing
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.settings import ServiceSettings
for module in {modules!r}:
    __import__(module)
for service in {services!r}:
    tracing.configure_tracing(ServiceSettings(environment="test"), service)
with tracing.span("turn"):
    OutgoingMessage(message_id="{message_id}", chat_id=1, text="hi").to_json()
print(",".join(sorted({{m.split(".")[1] for m in sys.modules if m.startswith({wanted!r})}})))
"""


def _traced_start(endpoint: str, *, without_sdk: bool = False) -> subprocess.CompletedProcess[str]:
    """Every service's main module imported, and each service's tracing set up as it starts
    (`without_sdk`: as where the `tracing` extra is not installed)."""
    block = "sys.modules['opentelemetry.sdk.trace'] = None" if without_sdk else ""
    code = _TRACING.format(
        block=block,
        modules=sorted(MAIN_MODULES.values()),
        services=sorted(MAIN_MODULES),
        message_id="5b0c7f4e-6f43-4d57-9d0e-3a1c2b7e9a10",
        wanted=TRACING_MODULES,
    )
    env = {"PATH": "/usr/bin:/bin", "SMART_ASSISTANT_ENV_FILE": ""}
    if endpoint:  # nothing listens there: the export at the end gives up after a second
        env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_TIMEOUT": "1"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env, timeout=60
    )


@pytest.mark.parametrize("endpoint", ["", "http://127.0.0.1:9"])
def test_tracing_loads_opentelemetry_only_when_an_endpoint_is_set(endpoint: str) -> None:
    """With the endpoint set, the same code loads it all: the check finds what it looks for."""
    result = _traced_start(endpoint)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("exporter,proto,sdk" if endpoint else "")


def test_traces_asked_for_without_the_tracing_extra_stop_the_start_saying_why() -> None:
    result = _traced_start("http://127.0.0.1:9", without_sdk=True)
    assert result.returncode == 1
    assert "TracingUnavailable: OTEL_EXPORTER_OTLP_ENDPOINT is set" in result.stderr
    assert "--build-arg TRACING=true" in result.stderr
