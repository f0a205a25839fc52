"""The model order of ARCHITECTURE.md: the user's choice, else the assistant's, else the
default model; then the fallback. Each name is routed to its provider from the snapshot."""

from __future__ import annotations

from assistant.src.clients.llm import ModelRoute
from assistant.src.live_config.snapshot import ConfigSnapshot
from assistant.src.settings import Settings


def model_routes(
    snapshot: ConfigSnapshot,
    settings: Settings,
    *,
    preferred: str | None,
    assistant_model: str | None,
) -> list[ModelRoute]:
    """Primary then fallback, without repeats. A user's choice the snapshot no longer lists
    is ignored; an assistant's model it does not list runs on the default provider."""
    default = snapshot.default_model.name if snapshot.default_model else settings.default_model
    fallback = snapshot.fallback_model.name if snapshot.fallback_model else settings.fallback_model
    chosen = preferred if preferred and snapshot.model(preferred) else None
    primary = chosen or assistant_model or default
    names = [primary] if primary == fallback else [primary, fallback]
    return [route_for(name, snapshot, settings) for name in names if name]


def route_for(name: str, snapshot: ConfigSnapshot, settings: Settings) -> ModelRoute:
    spec = snapshot.model(name)
    if spec is None or spec.provider is None:
        return ModelRoute(name, settings.openai_base_url)
    return ModelRoute(name, spec.provider.base_url, spec.provider.id)
