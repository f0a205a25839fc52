"""A socket a module leaves in a reference cycle fails that module's last test, not a test
of the module that happens to run when the garbage collector frees it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.tiers import ROOT

pytestmark = pytest.mark.e2e

LEAKING = """
import socket

def test_leaves_a_socket_in_a_cycle():
    holder = [socket.socket()]
    holder.append(holder)

def test_runs_after_it_in_the_same_module():
    pass
"""

LATER = """
def test_in_a_later_module():
    garbage = [[] for _ in range(100_000)]  # enough allocations to start a collection
    assert garbage
"""


KEEPING = """
import json

def test_keeps_a_list_past_its_module():
    json.kept_by_a_test = [[]]  # reachable from a module: alive after the module's end
"""

SEEING = """
import gc
import json

def test_the_kept_list_is_frozen_out_of_collections():
    kept = json.kept_by_a_test[0]
    assert not any(found is kept for found in gc.get_objects())
    assert gc.get_freeze_count() > 0
"""


def run_pytest(folder: Path, *plugins: str, modules: tuple[str, str] = (LEAKING, LATER)) -> str:
    (folder / "test_a_leaking.py").write_text(modules[0])
    (folder / "test_b_later.py").write_text(modules[1])
    options = [arg for plugin in plugins for arg in ("-p", plugin)]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-rA",
            "-W",
            "error",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "--rootdir",
            str(folder),
            "-c",
            "/dev/null",
            *options,
            str(folder),
        ],
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


def test_without_the_plugin_a_later_module_fails_for_it(tmp_path: Path) -> None:
    out = run_pytest(tmp_path)
    assert "FAILED test_b_later.py::test_in_a_later_module" in out, out
    assert "PASSED test_a_leaking.py::test_runs_after_it_in_the_same_module" in out, out


def test_the_leaking_module_fails_at_its_own_end(tmp_path: Path) -> None:
    out = run_pytest(tmp_path, "tests.leaks")
    assert "ERROR test_a_leaking.py::test_runs_after_it_in_the_same_module" in out, out
    assert "unclosed <socket.socket" in out, out
    assert "PASSED test_b_later.py::test_in_a_later_module" in out, out


def test_what_outlives_a_module_is_not_walked_again_at_the_next_ones_end(tmp_path: Path) -> None:
    out = run_pytest(tmp_path, "tests.leaks", modules=(KEEPING, SEEING))
    assert "PASSED test_b_later.py::test_the_kept_list_is_frozen_out_of_collections" in out, out
