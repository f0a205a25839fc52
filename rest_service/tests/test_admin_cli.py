"""`./manage.py admin` in this process (the end-to-end run is in test_admin_accounts.py): a
missing NAME, a password asked twice on a terminal, and the errors it prints for an admin
that does not exist or a name that is not allowed, each with exit 1 and nothing changed."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

import pytest

from rest_service import admin_cli

PASSWORD = "correct horse battery staple"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def typed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What the person at the terminal types at each password prompt, in order."""
    answers: list[str] = []
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": answers.pop(0))
    yield answers


@pytest.mark.parametrize("action", ["create", "passwd", "delete"])
def test_every_action_but_list_needs_a_name(
    action: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert admin_cli.main([action]) == 2
    assert f"admin {action} needs a NAME" in capsys.readouterr().err


def test_on_a_terminal_the_password_is_asked_twice(typed: list[str]) -> None:
    typed.extend([PASSWORD, PASSWORD])
    assert admin_cli.read_password(from_stdin=False) == PASSWORD
    assert typed == []


def test_two_different_passwords_are_refused_before_anything_is_stored(
    typed: list[str], settings_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    typed.extend([PASSWORD, PASSWORD + "!"])
    assert admin_cli.main(["create", f"ann-{uuid.uuid4().hex[:8]}"]) == 1
    assert "error: the two passwords differ" in capsys.readouterr().err


def test_stdin_gives_one_line_without_its_line_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\r\nnext line\n"))
    assert admin_cli.read_password(from_stdin=True) == PASSWORD


def test_an_admin_that_does_not_exist_is_named_in_the_error(
    settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    name = f"nobody-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert admin_cli.main(["passwd", name.upper(), "--password-stdin"]) == 1
    assert f"error: no admin named {name!r}" in capsys.readouterr().err
    assert admin_cli.main(["delete", name]) == 1


def test_a_name_that_is_not_allowed_is_refused_with_the_reason(
    settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert admin_cli.main(["create", "ann smith", "--password-stdin"]) == 1
    err = capsys.readouterr().err
    assert "error: invalid admin name (name: 1-64 of a-z" in err
