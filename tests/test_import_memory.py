"""The memory profile (bench/import_memory.py) accounts for a service's whole
memory floor at import, package by package, in the order the service loads them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.import_memory import MAIN_MODULES, OWN_CODE, measure, report
from ops.services import ROOT

pytestmark = pytest.mark.e2e


def _anon_kb_after_import(module: str) -> int:
    code = (
        f"import {module}\n"
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('RssAnon')))"
    )
    env = {"PATH": "/usr/bin:/bin", "SMART_ASSISTANT_ENV_FILE": ""}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, env=env, timeout=120, check=True)  # fmt: skip
    return int(out.stdout)


def test_the_rows_add_up_to_the_services_memory_at_import() -> None:
    rows = measure("cron_service")
    names = [name for name, _ in rows]
    assert names[0] == "python" and names[-1] == OWN_CODE
    assert len(names) == len(set(names))  # each package once, where it was first loaded
    assert {"apscheduler", "redis", "pydantic_settings"} <= set(names)
    assert "openai" not in names and "telegram" not in names  # what cron does not load
    total = sum(kb for _, kb in rows)
    assert abs(total - _anon_kb_after_import(MAIN_MODULES["cron_service"])) < 0.1 * total


def test_the_report_names_the_biggest_packages_and_the_rest() -> None:
    rows = [("python", 5000), ("fastapi", 14000), ("tiny", 100), (OWN_CODE, 9000)]
    line = report("rest_service", rows, top=2)
    assert line == (
        "rest_service: 27.4 MB anonymous at import: fastapi 13.7, (own code) 8.8, others 5.0"
    )
