"""The model order: the user's choice, else the assistant's, else the
default model; then the fallback. Each name is routed to its provider from the snapshot; a
turn with pictures goes to the models that see."""

from __future__ import annotations

from assistant.src.assistants.refusal import Refusal
from assistant.src.clients.llm import ModelRoute
from assistant.src.live_config.snapshot import default_model, fallback_model, find_model
from assistant.src.settings import Settings
from common.infrastructure.wire import ConfigSnapshot, ModelCapability


def model_routes(
    snapshot: ConfigSnapshot,
    settings: Settings,
    *,
    preferred: str | None,
    assistant_model: str | None,
) -> list[ModelRoute]:
    """Primary then fallback, without repeats. A user's choice the snapshot no longer lists
    is ignored; an assistant's model it does not list runs on the default provider."""
    default_spec, fallback_spec = default_model(snapshot), fallback_model(snapshot)
    default = default_spec.name if default_spec else settings.default_model
    fallback = fallback_spec.name if fallback_spec else settings.fallback_model
    chosen = preferred if preferred and find_model(snapshot, preferred) else None
    primary = chosen or assistant_model or default
    names = [primary] if primary == fallback else [primary, fallback]
    return [route_for(name, snapshot, settings) for name in names if name]


def route_for(name: str, snapshot: ConfigSnapshot, settings: Settings) -> ModelRoute:
    """A model the snapshot does not list runs on the default model's provider (its key)."""
    model = find_model(snapshot, name) or default_model(snapshot)
    if model is None:
        return ModelRoute(name, settings.openai_base_url)
    return ModelRoute(name, model.provider.base_url, str(model.provider.id))


def vision_routes(
    snapshot: ConfigSnapshot,
    settings: Settings,
    routes: list[ModelRoute],
    preferred: str | None,
) -> list[ModelRoute]:
    """The models a turn with pictures goes to: the turn's own when it sees; else a model
    that does, unless the user chose theirs (then they are told which model can)."""
    seeing = {m.name for m in snapshot.models if ModelCapability.vision in m.capabilities}
    if routes and routes[0].model in seeing:
        return [r for r in routes if r.model in seeing]
    vision = snapshot.model_with(ModelCapability.vision)
    if vision is None:
        raise Refusal("no_vision")
    chosen = bool(preferred) and bool(routes) and routes[0].model == preferred
    if chosen:
        raise Refusal("vision_other_model", model=preferred, vision=vision.name)
    return [route_for(vision.name, snapshot, settings)]
