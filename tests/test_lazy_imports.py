"""Services start without the libraries they need only on some requests: each
costs CPU and memory at every start, and most deployments never call them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ops.services import ROOT

pytestmark = pytest.mark.e2e

#: A service's main module, and what its import must not pull in.
LAZY = {
    # An idle calendar service never calls Google: ~0.4 s CPU and ~13 MB.
    "google_calendar_service.src.main": (
        "googleapiclient",
        "httplib2",
        "google_auth_httplib2",
        "requests",
        "google_auth_oauthlib",
    ),
    # The MCP SDK only for an mcp tool (0.7 s); documents and pictures are read in a child
    # process, never in the assistant's own.
    "assistant.src.main": ("mcp", "mcp_types", "pypdf", "docx", "PIL"),
    # pypdf only for a knowledge import of a PDF (docs/decisions/0046), openpyxl only for an
    # XLSX export of the leads (docs/decisions/0049).
    "rest_service.app.main": ("pypdf", "openpyxl"),
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
