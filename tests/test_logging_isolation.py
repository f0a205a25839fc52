"""A test that configures logging in-process leaves nothing behind for the next one."""

from __future__ import annotations

import logging

import pytest

from common.infrastructure.logging import configure_logging
from common.infrastructure.settings import ServiceSettings


def test_a_service_configures_logging_in_this_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    configure_logging(ServiceSettings(), "isolation")
    logging.getLogger("isolation").warning("into this test's stderr")
    assert "into this test's stderr" in capsys.readouterr().err


def test_the_next_test_logs_without_a_handler_on_a_closed_stream(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logging.getLogger("redis.connection").warning("a library's line")
    assert "Logging error" not in capsys.readouterr().err
