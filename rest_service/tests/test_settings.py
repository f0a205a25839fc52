"""rest_service's own settings: an unknown admin time zone and a missing service token are
refused at start, naming the setting; scoped tokens alone are enough; a test run without a
master key gets a throwaway one."""

from __future__ import annotations

import secrets as random

import pytest
from pydantic import ValidationError

from common.infrastructure.crypto import SecretDecryptionError, generate_key
from rest_service.app.settings import Settings
from rest_service.app.state import AppState


def production(**fields: str) -> Settings:
    base = {
        "environment": "production",
        "admin_api_token": random.token_hex(20),
        "llm_model_decrypt_key": generate_key(),
    }
    return Settings(_env_file=None, **{**base, **fields})  # type: ignore[call-arg, arg-type]


def test_an_unknown_admin_time_zone_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError) as refused:
        production(service_api_token=random.token_hex(20), admin_timezone="Mars/Olympus")
    assert "admin_timezone" in str(refused.value)
    assert "unknown time zone 'Mars/Olympus'" in str(refused.value)


def test_a_known_admin_time_zone_is_kept() -> None:
    settings = production(service_api_token=random.token_hex(20), admin_timezone="Asia/Tokyo")
    assert settings.admin_timezone == "Asia/Tokyo"


def test_scoped_service_tokens_stand_for_the_shared_one() -> None:
    settings = production(service_token_tg_bot=random.token_hex(20))
    assert settings.service_api_token == ""
    assert settings.has_secret("service_api_token")


def test_without_any_service_token_production_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError, match="SERVICE_API_TOKEN must be set"):
        production()


async def test_a_test_run_without_a_master_key_gets_a_throwaway_one(settings: Settings) -> None:
    """Settings refuse a missing key outside tests; a test run works with a key of its own
    that no other process shares."""
    keyless = settings.model_copy(update={"llm_model_decrypt_key": ""})
    states = [AppState.create(keyless), AppState.create(keyless)]
    try:
        token = states[0].box.encrypt("sk-test-only")
        assert states[0].box.decrypt(token) == "sk-test-only"
        with pytest.raises(SecretDecryptionError):
            states[1].box.decrypt(token)
    finally:
        for state in states:
            await state.close()


@pytest.mark.parametrize("hours", ["0", "-1", "nan", "inf"])
def test_an_api_webhook_retry_time_that_is_no_time_is_refused_naming_it(hours: str) -> None:
    with pytest.raises(ValidationError) as refused:
        production(service_api_token=random.token_hex(20), api_webhook_retry_hours=hours)
    assert "api_webhook_retry_hours" in str(refused.value)
    assert production(service_api_token=random.token_hex(20)).api_webhook_retry_hours == 24.0
