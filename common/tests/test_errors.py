"""Our error body read back on the calling side: the same type, its fields, its status."""

from __future__ import annotations

import pytest

from common.infrastructure.errors import (
    AppError,
    ConflictError,
    FieldError,
    NotFoundError,
    RetryLater,
    ValidationFailedError,
    conflict,
    error_from_body,
    invalid,
    not_found,
)


def test_a_known_status_comes_back_as_its_type_with_the_fields_named() -> None:
    body = {
        "error": "validation_failed",
        "detail": "the request is invalid",
        "fields": [{"field": "run_at", "reason": "in the past"}, "not a field"],
    }
    error = error_from_body(422, body, "fallback")
    assert isinstance(error, ValidationFailedError)
    assert error.detail == "the request is invalid"
    assert error.fields == [FieldError("run_at", "in the past")]
    assert isinstance(error_from_body(404, {"detail": "no such user"}, "x"), NotFoundError)
    assert isinstance(error_from_body(409, {}, "x"), ConflictError)


@pytest.mark.parametrize("body", [None, "<html>Bad Gateway</html>", ["a"], {"fields": None}])
def test_a_body_that_is_not_ours_keeps_the_fallback(body: object) -> None:
    error = error_from_body(404, body, "GET /users/1 answered 404")
    assert isinstance(error, NotFoundError)
    assert "GET /users/1 answered 404" in str(error)
    assert error.fields == []


def test_a_status_we_have_no_type_for_keeps_its_status() -> None:
    error = error_from_body(418, {"detail": "I'm a teapot"}, "x")
    assert type(error) is AppError
    assert error.status_code == 418
    assert "I'm a teapot" in str(error)


def test_the_factories_name_what_was_wrong() -> None:
    assert invalid("timezone", "not an IANA zone").to_dict() == {
        "error": "validation_error",
        "detail": "timezone: not an IANA zone",
        "fields": [{"field": "timezone", "reason": "not an IANA zone"}],
    }
    assert conflict("the name is taken").to_dict()["error"] == "conflict"
    assert str(not_found("user", 7)) == "user 7 not found"


def test_a_retry_later_says_when() -> None:
    assert str(RetryLater(2.5)) == "retry in 2.5s"
    later = RetryLater(reason="redis down")
    assert (str(later), later.delay) == ("redis down", 1.0)
