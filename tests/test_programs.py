"""The one rule for tests that need a system program: found, it is used; missing, the test
skips naming the program and its Debian package, or fails under REQUIRE_SYSTEM_TOOLS=1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.programs import REQUIRE_SYSTEM_TOOLS, require_program

ABSENT = "sa-no-such-program"


def test_a_program_on_path_is_found() -> None:
    assert require_program("sh", "dash") == shutil.which("sh")


def test_a_program_off_path_is_found_among_the_candidates(tmp_path: Path) -> None:
    program = tmp_path / ABSENT
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    not_executable = tmp_path / "plain"
    not_executable.write_text("")
    assert require_program(ABSENT, "x", tmp_path / "gone", not_executable, program) == str(program)


def test_a_missing_program_skips_naming_it_and_its_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(REQUIRE_SYSTEM_TOOLS, raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_program(ABSENT, "sa-package", "/nonexistent/" + ABSENT)
    assert str(skipped.value) == f"{ABSENT} is missing: apt-get install sa-package"


@pytest.mark.parametrize("value", ["0", ""])
def test_a_false_require_setting_still_skips(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(REQUIRE_SYSTEM_TOOLS, value)
    with pytest.raises(pytest.skip.Exception):
        require_program(ABSENT, "sa-package")


def test_a_missing_program_fails_where_programs_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(REQUIRE_SYSTEM_TOOLS, "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        require_program(ABSENT, "sa-package")
    message = str(failed.value)
    assert message == f"{ABSENT} is missing: apt-get install sa-package (REQUIRE_SYSTEM_TOOLS=1)"
