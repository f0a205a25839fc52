"""docs/contract.md is the contract in the project's words: its tables are the code's own
(services, streams, queue messages, Redis names, REST routes, settings), so the document and
the code cannot drift apart unnoticed."""

from __future__ import annotations

import re

import pytest

from ops import contract

pytestmark = pytest.mark.policy


def test_the_contracts_tables_are_the_codes() -> None:
    text = contract.DOCUMENT.read_text()
    assert contract.updated(text) == text, "run: python -m ops.contract --write"


def test_every_table_the_generator_knows_is_in_the_document() -> None:
    text = contract.DOCUMENT.read_text()
    shown = set(re.findall(r"<!-- contract:(\w+) -->", text))
    assert shown == set(contract.BLOCKS)


def test_a_behind_document_is_named_and_rewritten(tmp_path, capsys) -> None:
    behind = tmp_path / "contract.md"
    behind.write_text("# x\n\n<!-- contract:services -->\nold\n<!-- /contract:services -->\n")
    assert contract.main([], document=behind) == 1
    assert "python -m ops.contract --write" in capsys.readouterr().out
    assert contract.main(["--write"], document=behind) == 0
    assert "`rest_service`" in behind.read_text() and "old" not in behind.read_text()
    assert contract.main([], document=behind) == 0


def test_an_unknown_table_is_refused() -> None:
    with pytest.raises(ValueError, match="nonsense"):
        contract.updated("<!-- contract:nonsense -->\n<!-- /contract:nonsense -->")
