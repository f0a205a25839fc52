"""Structured logging carries the correlation id of a message through every line."""

from __future__ import annotations

import json
import logging

import pytest
from structlog.testing import capture_logs

from common.infrastructure.logging import (
    MESSAGE_MAX,
    configure_logging,
    correlation,
    get_logger,
    loggable_message,
    reset_logging,
)
from common.infrastructure.settings import ServiceSettings


def test_json_lines_carry_service_and_correlation_id(tmp_path) -> None:
    log_file = tmp_path / "svc.log"
    settings = ServiceSettings(
        environment="test", log_format="json", log_level="DEBUG", log_file=str(log_file)
    )
    configure_logging(settings, "unit")
    log = get_logger("unit")
    with correlation("msg-1", chat_id=5):
        log.info("handling", step=1)
        logging.getLogger("stdlib").warning("from the standard library")
    log.debug("after")
    reset_logging()
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert lines[0] | {"timestamp": None} == {
        "event": "handling",
        "step": 1,
        "correlation_id": "msg-1",
        "chat_id": 5,
        "service": "unit",
        "level": "info",
        "logger": "unit",
        "timestamp": None,
    }
    assert lines[1]["correlation_id"] == "msg-1" and lines[1]["level"] == "warning"
    assert "correlation_id" not in lines[2]


def test_info_level_hides_debug_details(tmp_path) -> None:
    log_file = tmp_path / "svc.log"
    configure_logging(
        ServiceSettings(environment="test", log_level="INFO", log_file=str(log_file)), "unit"
    )
    get_logger("unit").debug("detail")
    get_logger("unit").info("key_event")
    reset_logging()
    events = [json.loads(line)["event"] for line in log_file.read_text().splitlines()]
    assert events == ["key_event"]


def test_a_logger_cached_before_a_reconfiguration_is_captured_after_it() -> None:
    """A module's `log = get_logger(__name__)` is cached on its first use; a later
    configuration (another test, a service started in-process) must not leave it on the old
    processors, where capture_logs would not hear it."""
    configure_logging(ServiceSettings(environment="test", log_format="json"), "first")
    log = get_logger("cached.at.import")
    log.info("cached")
    configure_logging(ServiceSettings(environment="test", log_format="console"), "second")
    try:
        with capture_logs() as logs:
            log.info("heard", step=2)
    finally:
        reset_logging()
    assert [(e["event"], e["step"]) for e in logs] == [("heard", 2)]


@pytest.mark.parametrize(
    ("message", "logged"),
    [
        (
            "GET https://api.telegram.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",
            "GET https://api.telegram.org/bot[redacted]/getMe",
        ),
        (
            "connect to postgresql://sa:" + "hunter2@db:5432/sa",
            "connect to postgresql://[redacted]@db:5432/sa",
        ),
        (
            "POST https://oauth2.googleapis.com/token?code=4/0Ab&client_secret=xyz: 400",
            "POST https://oauth2.googleapis.com/token?[redacted] 400",
        ),
        (
            "refresh_token='1//0gabc' password=pw; api-key: k1",
            "refresh_token=[redacted] password=[redacted]; api-key: [redacted]",
        ),
        ("sent Bearer abc.def-ghi", "sent Bearer [redacted]"),
        ("key sk-" + "proj-abcdefghijklmnopqrstuvwxyz0123456789 refused", "key [redacted] refused"),
        (
            "user 5b0c7f4e-6f43-4d57-9d0e-3a1c2b7e9a10 has no smart_assistant_configuration_value",
            "user 5b0c7f4e-6f43-4d57-9d0e-3a1c2b7e9a10 has no smart_assistant_configuration_value",
        ),
        ("column x.y_z does not exist", "column x.y_z does not exist"),
        (
            "no attribute in common.infrastructure.queue_metrics2.refresh",
            "no attribute in common.infrastructure.queue_metrics2.refresh",
        ),
        (
            "a JWT eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ",
            "a JWT [redacted]",
        ),
        ("statement failed\n[SQL: SELECT $1]\n[parameters: ('secret',)]", "statement failed"),
        ("", ""),
    ],
)
def test_an_error_message_is_logged_without_what_looks_like_a_secret(
    message: str, logged: str
) -> None:
    assert loggable_message(RuntimeError(message)) == logged


def test_a_logged_error_message_is_cut_to_its_limit() -> None:
    assert len(loggable_message(ValueError("word " * 200))) == MESSAGE_MAX
