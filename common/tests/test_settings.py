"""Settings refuse to start with empty or malformed secrets outside tests."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assistant.src.settings import Settings as AssistantSettings
from common.infrastructure.crypto import generate_key
from common.infrastructure.settings import OpenMeteoSettings, ServiceSettings
from rest_service.app.settings import Settings as RestSettings
from tg_bot.src.settings import Settings as TgBotSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("ENVIRONMENT", "ADMIN_API_TOKEN", "SERVICE_API_TOKEN", "LLM_MODEL_DECRYPT_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_empty_service_token_is_refused() -> None:
    with pytest.raises(ValidationError, match="SERVICE_API_TOKEN must be set"):
        ServiceSettings(service_api_token="")


def test_rest_service_names_every_missing_secret() -> None:
    with pytest.raises(ValidationError) as err:
        RestSettings(service_api_token="s")
    assert "ADMIN_API_TOKEN, LLM_MODEL_DECRYPT_KEY must be set" in str(err.value)


def test_malformed_master_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="LLM_MODEL_DECRYPT_KEY is not a Fernet key"):
        RestSettings(
            admin_api_token="a" * 32, service_api_token="s" * 32, llm_model_decrypt_key="short"
        )


def test_complete_secrets_are_accepted() -> None:
    settings = RestSettings(
        admin_api_token="a" * 32, service_api_token="s" * 32, llm_model_decrypt_key=generate_key()
    )
    assert settings.port == 8000


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_API_TOKEN", "from-env-" + "e" * 32)
    monkeypatch.setenv("HTTP_PORT", "9999")
    settings = ServiceSettings()
    assert (settings.service_api_token, settings.port) == ("from-env-" + "e" * 32, 9999)


def test_dotenv_file_is_read(tmp_path) -> None:
    token = "from-file-" + "f" * 32
    (tmp_path / ".env").write_text(f"SERVICE_API_TOKEN={token}\nREDIS_KEY_PREFIX=x:\n")
    settings = ServiceSettings()
    assert (settings.service_api_token, settings.redis_key_prefix) == (token, "x:")


def test_tests_may_run_without_secrets() -> None:
    assert ServiceSettings(environment="test").service_api_token == ""


@pytest.mark.parametrize("settings", [AssistantSettings, TgBotSettings])
def test_both_services_read_open_meteo_from_one_declaration(
    settings: type[ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEATHER_API_URL", "http://weather.test/v1/forecast")
    monkeypatch.setenv("GEOCODING_API_URL", "http://places.test/v1/search")
    read = settings(environment="test")
    assert isinstance(read, OpenMeteoSettings)
    assert (read.weather_api_url, read.geocoding_api_url) == (
        "http://weather.test/v1/forecast",
        "http://places.test/v1/search",
    )
    assert "weather_api_url" not in settings.__annotations__  # not declared again
