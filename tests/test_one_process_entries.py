"""The one-process runner runs each service by the entry point ops/services.py names; each
`<service>/__main__.py` (what `python -m <service>` runs) must name the same, or the two shapes
would run different code. Read from the source: running `__main__` would start the service."""

from __future__ import annotations

import ast
import importlib

import pytest

from ops.services import ROOT, SERVICES, Kind, Service

#: How each kind's `__main__` hands its entry to the process: `serve_asgi("<module:app>",
#: load_settings(<Settings>))` or `run_worker(<main>)`.
RUNNERS = {Kind.http: "serve_asgi", Kind.worker: "run_worker"}


def imported_names(statements: list[ast.stmt]) -> dict[str, str]:
    """Each name `from <module> import <name>` binds, as `module:name`."""
    return {
        alias.asname or alias.name: f"{node.module}:{alias.name}"
        for node in statements
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        for alias in node.names
    }


def main_block(tree: ast.Module) -> list[ast.stmt]:
    """The body of `if __name__ == "__main__":`."""
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == "__name__"
        ):
            return node.body
    raise AssertionError("no `if __name__ == '__main__':` block")


def entry_of(service: Service) -> tuple[str, str | None]:
    """(entry, settings class) that `python -m <service>` runs, as `module:name` paths."""
    tree = ast.parse((ROOT / service.name / "__main__.py").read_text())
    block = main_block(tree)
    names = imported_names([*tree.body, *block])
    # the collector's start comes first, before the service's imports (collector.py)
    first, *_, statement = block
    assert ast.unparse(first) == "collector.starting()", ast.unparse(first)
    assert names["collector"] == "common.infrastructure:collector"
    assert isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
    call = statement.value
    assert isinstance(call.func, ast.Name)
    assert names.get(call.func.id, "").endswith(f":{RUNNERS[service.kind]}"), ast.unparse(call)
    if service.kind is Kind.worker:
        [main] = call.args
        assert isinstance(main, ast.Name), ast.unparse(call)
        return names[main.id], None
    app, settings = call.args
    assert isinstance(app, ast.Constant) and isinstance(app.value, str), ast.unparse(call)
    assert isinstance(settings, ast.Call) and isinstance(settings.func, ast.Name)
    assert names[settings.func.id].endswith(":load_settings"), ast.unparse(call)
    [settings_class] = settings.args
    assert isinstance(settings_class, ast.Name), ast.unparse(call)
    return app.value, names[settings_class.id]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_python_m_runs_the_entry_the_one_process_runs(service: Service) -> None:
    entry, settings = entry_of(service)
    assert entry == service.entry
    if settings is not None:
        assert settings == service.settings
    module, _, attribute = service.settings.partition(":")
    assert hasattr(importlib.import_module(module), attribute), service.settings


def test_a_drifted_main_is_caught() -> None:
    """The reading tells a `__main__` naming another app or main from the listed one."""
    worker = next(s for s in SERVICES if s.kind is Kind.worker)
    http = next(s for s in SERVICES if s.kind is Kind.http)
    other_worker = Service(worker.name, 1, Kind.worker, "elsewhere:main", worker.settings)
    other_http = Service(http.name, 1, Kind.http, "elsewhere:app", "elsewhere:Settings")
    assert entry_of(other_worker)[0] != other_worker.entry
    assert entry_of(other_http) != (other_http.entry, other_http.settings)
