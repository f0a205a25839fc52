"""The default configuration (a secretary with its tools and a writer sub-assistant, a
provider, two chat models, a transcription and a speech model from the settings), imported
through the config import, so running it again updates the built-in tool schemas and prompts
and creates nothing twice."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rest_service.app.domain.transfer import import_config
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.models.snapshot import ConfigDocument, ImportResult
from rest_service.app.settings import Settings
from rest_service.app.state import AppState

DEFAULT_CONFIG = Path(__file__).with_name("default_config.json")
_PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")


def load_document(settings: Settings, path: Path = DEFAULT_CONFIG) -> ConfigDocument:
    """The JSON with `${OPENAI_BASE_URL}`, `${OPENAI_API_KEY}`, `${DEFAULT_MODEL}`,
    `${FALLBACK_MODEL}`, `${TRANSCRIPTION_MODEL}` and `${SPEECH_MODEL}` filled in from the
    settings."""
    values = {
        "OPENAI_BASE_URL": settings.openai_base_url,
        "OPENAI_API_KEY": settings.openai_api_key,
        "DEFAULT_MODEL": settings.default_model,
        "FALLBACK_MODEL": settings.fallback_model,
        "TRANSCRIPTION_MODEL": settings.transcription_model,
        "SPEECH_MODEL": settings.speech_model,
    }
    raw = _fill(json.loads(path.read_text(encoding="utf-8")), values)
    _drop_empty_keys(raw)
    _drop_unnamed_models(raw)
    _merge_same_models(raw)
    return ConfigDocument.model_validate(raw)


async def seed(settings: Settings, path: Path = DEFAULT_CONFIG) -> ImportResult:
    document = load_document(settings, path)
    state = AppState.create(settings)
    try:
        async with unit_of_work(state, "seed") as ctx:
            return await import_config(ctx, document)
    finally:
        await state.close()


def _fill(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), node)
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, dict):
        return {key: _fill(item, values) for key, item in node.items()}
    return node


def _drop_empty_keys(raw: dict[str, Any]) -> None:
    """No OPENAI_API_KEY: keep whatever key the provider has (a local endpoint needs none)."""
    for provider in raw.get("providers", []):
        if not provider.get("api_key"):
            provider.pop("api_key", None)


def _drop_unnamed_models(raw: dict[str, Any]) -> None:
    """An empty TRANSCRIPTION_MODEL or SPEECH_MODEL: that model is not seeded (an endpoint
    without audio)."""
    raw["models"] = [m for m in raw.get("models", []) if m["provider_model_name"].strip()]


def _merge_same_models(raw: dict[str, Any]) -> None:
    """Two settings naming one model (DEFAULT_MODEL equal to FALLBACK_MODEL): one model that
    does both."""
    merged: dict[str, dict[str, Any]] = {}
    for model in raw.get("models", []):
        seen = merged.get(model["provider_model_name"])
        if seen is None:
            merged[model["provider_model_name"]] = model
            continue
        seen["is_default"] = seen.get("is_default", False) or model.get("is_default", False)
        seen["is_fallback"] = seen.get("is_fallback", False) or model.get("is_fallback", False)
        if "capabilities" in seen or "capabilities" in model:
            both = seen.get("capabilities", ["chat"]) + model.get("capabilities", ["chat"])
            seen["capabilities"] = list(dict.fromkeys(both))
    raw["models"] = list(merged.values())
