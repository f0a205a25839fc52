"""`python -m rest_service.seed` in this process, on a database of its own: what it says it
did (the whole document, then only what was missing and the key it put in), a reset that has
nothing to change, and a reset whose question gets no answer. The end-to-end runs (deploy
step, a real terminal) are in tests/test_manage_seed.py."""

from __future__ import annotations

import io

import pytest

from ops.infra import migrate
from rest_service.seed.__main__ import main
from tests.test_manage_seed import query

pytestmark = pytest.mark.e2e  # migrating its database runs alembic as a process


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def database(
    settings_env: dict[str, str], empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    migrate(empty_database)
    monkeypatch.setenv("ASYNC_DATABASE_URL", empty_database)
    monkeypatch.setenv("OPENAI_API_KEY", "")
    return empty_database


def test_the_seed_says_what_it_added_and_where_it_put_the_key(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([]) == 0
    assert "seeded the default configuration, config version" in capsys.readouterr().out
    assert main([]) == 0
    assert "every default row is there (by name); nothing added" in capsys.readouterr().out
    query(
        database,
        "DELETE FROM assistant_tool_link WHERE tool_id IN "
        "(SELECT id FROM tools WHERE name = 'weather'); DELETE FROM tools WHERE name = 'weather'",
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-arrived-later-1234")
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "seed added tool weather, link secretary -> weather (config version" in out
    assert "seed put OPENAI_API_KEY (encrypted) into provider 'default'" in out
    assert "sk-arrived-later" not in out
    assert "seed changed nothing that exists" in out


def test_a_reset_with_nothing_to_change_changes_nothing(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([]) == 0
    capsys.readouterr()
    assert main(["--reset"]) == 0
    assert "already is the default one; nothing to change" in capsys.readouterr().out


def test_a_reset_question_that_gets_no_answer_changes_nothing(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([]) == 0
    query(database, "UPDATE assistants SET instructions = 'Be a pirate.'")
    monkeypatch.setattr("sys.stdin", Terminal(""))  # the terminal closes: input() meets EOF
    assert main(["--reset"]) == 1
    captured = capsys.readouterr()
    assert "instructions differs:" in captured.out
    assert "seed --reset: nothing changed" in captured.err
