"""No part of a service imports, at run time, a part that imports it back: a turn's path is read
top to bottom, and a part can be understood without the ones that use it. A part is a module or
sub-package right under a service's source folder (or under `common/infrastructure` and
`common/features`); imports under `if TYPE_CHECKING:` only name types and do not count."""

from __future__ import annotations

import ast
from collections import defaultdict

import pytest

from ops.services import ROOT

pytestmark = pytest.mark.policy

SOURCES = (
    "assistant/src",
    "tg_bot/src",
    "rest_service/app",
    "cron_service/app",
    "google_calendar_service/src",
    "channels/src",
    "common/infrastructure",
    "common/features",
)


def part_of(module: str) -> str | None:
    """The part `module` belongs to: its first name below one of SOURCES."""
    for source in SOURCES:
        package = source.replace("/", ".")
        if module.startswith(package + "."):
            part = f"{package}.{module[len(package) + 1 :].split('.')[0]}"
            path = ROOT / part.replace(".", "/")
            return part if path.is_dir() or path.with_suffix(".py").is_file() else None
    return None


def run_time_imports(tree: ast.Module) -> list[str]:
    """Every absolute module an import names (`from a import b` names `a` and `a.b`), leaving
    out the bodies of `if TYPE_CHECKING:`."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend([node.module, *(f"{node.module}.{a.name}" for a in node.names)])
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for source in SOURCES:
        for file in (ROOT / source).rglob("*.py"):
            if "tests" in file.relative_to(ROOT).parts:
                continue
            module = ".".join(file.relative_to(ROOT).with_suffix("").parts)
            here = part_of(module)
            for name in run_time_imports(ast.parse(file.read_text(encoding="utf-8"))):
                there = part_of(name)
                if here and there and there != here:
                    graph[here].add(there)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one part (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = [stack.pop()]
            while group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_part_of_a_service_imports_one_that_imports_it_back() -> None:
    assert cycles(part_graph()) == []


def test_a_cycle_is_found_and_a_type_only_import_is_not_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\nimport y\n"
    tree = ast.parse(source)
    assert run_time_imports(tree) == ["typing", "typing.TYPE_CHECKING", "y"]
