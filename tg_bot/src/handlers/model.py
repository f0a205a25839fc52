"""/model: the models rest_service offers; `/model NAME` makes one the user's own."""

from __future__ import annotations

from common.wire import LLMModel
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command
from tg_bot.src.i18n import Markdown


async def choose_model(turn: Addressed, args: str, services: Services) -> str:
    models = await services.rest.list_models()
    if not models:
        return turn.t("model.none")
    listing = _listing(turn, models)
    wanted = args.strip()
    if not wanted:
        current = turn.user.preferred_model if turn.user else None
        if current:
            return turn.t("model.current", model=current, models=listing)
        return turn.t("model.default", models=listing)
    chosen = find_model(models, wanted)
    if chosen is None or turn.user is None:
        return turn.t("model.unknown", name=wanted, models=listing)
    await services.users.update(turn.user, preferred_model=chosen.name)
    return turn.t("model.set", model=chosen.display_name or chosen.name)


def find_model(models: list[LLMModel], wanted: str) -> LLMModel | None:
    """By name, provider model name or display name, ignoring case."""
    wanted = wanted.casefold()
    for model in models:
        names = (model.name, model.provider_model_name, model.display_name)
        if any(name and name.casefold() == wanted for name in names):
            return model
    return None


def _listing(turn: Addressed, models: list[LLMModel]) -> Markdown:
    items = [
        turn.t(
            "model.item_default" if model.is_default else "model.item",
            name=model.name,
            display=model.display_name or model.name,
        )
        for model in models
    ]
    return Markdown(turn.t("model.list", items=Markdown("\n".join(items))))


COMMAND = Command("model", choose_model)
