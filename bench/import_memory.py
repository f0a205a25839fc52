"""Where each service's memory floor goes: the anonymous memory (RssAnon) its import adds,
per top-level package, in the order the service imports them (the services' memory profile).

    .venv/bin/python bench/import_memory.py [--service rest_service ...]

For each service a child Python imports the service's main module under `-X importtime`
to learn which packages it loads and in what order; a second child then imports those
third-party packages one by one in that order, then the project's own, and reads
`/proc/self/status` after each. A package's figure is what it added beyond the ones before
it (its own dependencies not yet loaded included), so the rows sum to the whole.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MAIN_MODULES = {
    "rest_service": "rest_service.app.main",
    "google_calendar_service": "google_calendar_service.src.main",
    "assistant": "assistant.src.main",
    "cron_service": "cron_service.app.main",
    "tg_bot": "tg_bot.src.main",
    "channels": "channels.src.main",
}
OWN = ("common", *MAIN_MODULES)
#: The row of the service's own modules (what its main module adds after its libraries).
OWN_CODE = "(own code)"
_ENV = {"PATH": "/usr/bin:/bin", "SMART_ASSISTANT_ENV_FILE": ""}

_MEASURE = """
import importlib, json, sys
def anon():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
rows, before = [], anon()
rows.append(["python", before])
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception as exc:
        print(f"{name}: {exc}", file=sys.stderr)
    now = anon()
    rows.append([name, now - before])
    before = now
importlib.import_module(sys.argv[2])
rows.append([sys.argv[3], anon() - before])
print(json.dumps(rows))
"""


def import_order(module: str) -> list[str]:
    """Top-level packages `module`'s import loads, third-party first, in first-loaded order."""
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT, capture_output=True, text=True, env=_ENV, timeout=120, check=True,
    )  # fmt: skip
    loaded = {name.split(".")[0] for name in json.loads(result.stdout)}  # not just tried
    before = set(_preloaded())
    order: list[str] = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        top = line.rsplit("|", 1)[1].strip().split(".")[0]
        if top in loaded and top not in order and top not in before | set(OWN):
            order.append(top)
    return [*order, "common"]


def _preloaded() -> list[str]:
    """What a bare interpreter has loaded already (the standard library's start)."""
    code = "import sys, json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_ENV)
    return list(json.loads(out.stdout))


def measure(service: str) -> list[tuple[str, int]]:
    """(package, kB of RssAnon it added) for `service`, in import order."""
    module = MAIN_MODULES[service]
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(import_order(module)), module, OWN_CODE],
        cwd=ROOT, capture_output=True, text=True, env=_ENV, timeout=120, check=True,
    )  # fmt: skip
    return [(name, int(kb)) for name, kb in json.loads(result.stdout)]


def report(service: str, rows: list[tuple[str, int]], top: int) -> str:
    total = sum(kb for _, kb in rows)
    biggest = sorted(rows, key=lambda row: -row[1])[:top]
    rest = total - sum(kb for _, kb in biggest)
    parts = ", ".join(f"{name} {kb / 1024:.1f}" for name, kb in biggest)
    others = f"others {rest / 1024:.1f}"
    return f"{service}: {total / 1024:.1f} MB anonymous at import: {parts}, {others}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", action="append", choices=sorted(MAIN_MODULES))
    parser.add_argument("--top", type=int, default=8, help="packages named per service")
    parser.add_argument("--json", action="store_true", help="every row, as JSON")
    args = parser.parse_args()
    found = {service: measure(service) for service in args.service or MAIN_MODULES}
    if args.json:
        print(json.dumps(found, indent=1))
        return
    for service, rows in found.items():
        print(report(service, rows, args.top))
    total = sum(kb for rows in found.values() for _, kb in rows)
    print(f"all: {total / 1024:.1f} MB")


if __name__ == "__main__":
    main()
