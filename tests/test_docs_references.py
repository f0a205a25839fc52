"""The docs name only what exists: every file path and `path: symbol` in the README files and
docs/ is checked against the tree, and none points outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import PurePosixPath

import pytest

from ops.services import ROOT

pytestmark = pytest.mark.policy

_SUFFIXES = "py|md|yml|yaml|json|toml|txt|sh|cfg|ini|html|js|css|lock|conf|sql|j2"
#: `path` or `path: symbol` in backticks.
_REFERENCE = re.compile(rf"`([\w./-]+\.(?:{_SUFFIXES}))(?::\s*([A-Za-z_][\w.]*))?`")
#: What runs write, not the tree: reports, benchmark results, data folders.
_WRITTEN_BY_RUNS = ("test-artifacts/", ".data/", "bench/results/", "pipeline-")
#: Files an operator writes beside the tree.
_WRITTEN_BY_PEOPLE = {"docker-compose.override.yml"}


def _tracked() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [path for path in listed if (ROOT / path).exists()]


TRACKED = _tracked()
BY_NAME: dict[str, list[str]] = {}
for _path in TRACKED:
    BY_NAME.setdefault(PurePosixPath(_path).name, []).append(_path)
DOCS = sorted(
    path
    for path in TRACKED
    if path.endswith(".md")
    and (path.startswith("docs/") or PurePosixPath(path).name == "README.md")
)


def resolve(reference: str, document: str) -> list[str]:
    """The tracked files `reference` names: a path from the root (or, in a service's README,
    from its folder), or a bare file name found anywhere."""
    if "/" not in reference:
        return BY_NAME.get(reference, [])
    folder = PurePosixPath(document).parent
    candidates = [reference]
    if folder.name and not str(folder).startswith("docs"):
        candidates.append(str(folder / reference))
    return [c for c in candidates if (ROOT / c).is_file()]


def defines(path: str, symbol: str) -> bool:
    text = (ROOT / path).read_text()
    *owners, name = symbol.split(".")
    for owner in owners[:1]:
        if not re.search(rf"^\s*class {re.escape(owner)}\b", text, re.M):
            return False
    definition = rf"^\s*(?:async def|def|class) {re.escape(name)}\b|^\s*{re.escape(name)}\s*[:=]"
    return re.search(definition, text, re.M) is not None


def broken(document: str) -> list[str]:
    found = []
    text = (ROOT / document).read_text()
    for match in _REFERENCE.finditer(text):
        reference, symbol = match.groups()
        if (
            reference.startswith(("/", "http"))
            or any(part in reference for part in _WRITTEN_BY_RUNS)
            or reference in _WRITTEN_BY_PEOPLE
        ):
            continue
        paths = resolve(reference, document)
        if not paths:
            found.append(f"{reference}: no such file")
        elif symbol and not any(defines(path, symbol) for path in paths):
            found.append(f"{reference}: {symbol}: not defined there")
    return found


@pytest.mark.parametrize("document", DOCS)
def test_every_file_and_symbol_a_document_names_exists(document: str) -> None:
    assert broken(document) == []


@pytest.mark.parametrize("document", DOCS)
def test_no_document_points_outside_the_repository(document: str) -> None:
    text = (ROOT / document).read_text()
    assert re.findall(r"ARCHITECTURE\.md|design.notes|\.\./shared", text) == []
    assert re.findall(r"\b[Ii]ssues? #?\d+", text) == []


def test_the_checker_finds_a_missing_file_and_a_missing_symbol() -> None:
    assert resolve("common/infrastructure/queue.py", "docs/x.md") == [
        "common/infrastructure/queue.py"
    ]
    assert defines("common/infrastructure/queue.py", "DeadLetter")
    assert defines("common/infrastructure/queue.py", "consumer_name")
    assert not defines("common/infrastructure/queue.py", "no_such_thing_here")
    assert resolve("queue_does_not_exist.py", "docs/x.md") == []
