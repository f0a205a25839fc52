"""Property-based fuzzing of the running service from its own OpenAPI document (the
schemathesis CLI against `python -m rest_service`): no generated input may cause a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ops.processes import Stack

#: Bounded so the run takes about a minute on a 2-core machine; fixed for reproducible CI.
MAX_EXAMPLES = "6"
SEED = "20240320"


def _schemathesis(
    url: str, token: str, report: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error",
        "--phases",
        "examples,fuzzing",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "2",
        "--request-timeout",
        "20",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=280, cwd=report.parent)


# Two CLI runs over every route: about a minute each when quiet, over two under coverage on a
# loaded machine (the suite's 120 s per test stopped it there).
@pytest.mark.timeout(600)
def test_no_generated_input_causes_a_server_error(
    stack: Stack, secrets: dict[str, str], tmp_path: Path
) -> None:
    service = stack.start("rest_service")
    # FastAPI builds the document on its first request: 1.3 s here, 3.7 s under coverage,
    # and once over schemathesis's 10 s for loading it on a loaded CI host
    document = httpx.get(f"{service.url}/openapi.json", timeout=120)
    assert document.status_code == 200, document.text[:2000]
    admin = _schemathesis(service.url, secrets["ADMIN_API_TOKEN"], tmp_path / "admin.xml")
    assert admin.returncode == 0, admin.stdout[-6000:] + admin.stderr[-2000:]
    secret_routes = _schemathesis(
        service.url,
        secrets["SERVICE_API_TOKEN"],
        tmp_path / "service.xml",
        "--include-path-regex",
        "calendar-credentials|api-key",
    )
    assert secret_routes.returncode == 0, secret_routes.stdout[-6000:]
    assert "Traceback" not in service.logs()
