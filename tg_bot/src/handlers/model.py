"""/model: the models rest_service offers, with a button for each chat model (the current one
marked); `/model NAME` or a button makes one the user's own."""

from __future__ import annotations

from common.features.buttons import ButtonAction, ButtonData, button
from common.infrastructure.queue_messages import Button
from common.infrastructure.wire import LLMModel, ModelCapability
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command, Press, Pressed, PressHandler, Reply
from tg_bot.src.i18n import Markdown

_LABEL_CHARS = 60


async def choose_model(turn: Addressed, args: str, services: Services) -> str | Reply:
    # Only models that chat: a transcription or speech model cannot answer (rest refuses it).
    models = await services.rest.list_models(capability=ModelCapability.chat)
    if not models:
        return turn.t("model.none")
    listing = _listing(turn, models)
    wanted = args.strip()
    if not wanted:
        current = turn.user.preferred_model if turn.user else None
        picker = _picker(turn, models, current)
        if current:
            return Reply(turn.t("model.current", model=current, models=listing), picker)
        return Reply(turn.t("model.default", models=listing), picker)
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


def _picker(turn: Addressed, models: list[LLMModel], current: str | None) -> list[list[Button]]:
    """One button per chat model; the owner's Telegram id rides along, so in a group the
    picker of one member does not choose for another."""
    chat = [m for m in models if ModelCapability.chat in m.capabilities]
    chosen = find_model(chat, current) if current else None
    chosen = chosen or next((m for m in chat if m.is_default), None)
    rows = []
    for model in chat:
        label = model.display_name or model.name
        label = f"✓ {label}" if model is chosen else label
        data = ButtonData(ButtonAction.MODEL, str(model.id), str(turn.sender.id))
        rows.append([button(label[:_LABEL_CHARS], data)])
    return rows


async def model_pressed(press: Press, services: Services) -> Pressed:
    turn = press.turn
    if press.data.option != str(turn.sender.id):
        return Pressed(turn.t("button.not_yours"))
    models = await services.rest.list_models()
    chosen = next((m for m in models if str(m.id) == press.data.target), None)
    if chosen is None or ModelCapability.chat not in chosen.capabilities or turn.user is None:
        return Pressed(turn.t("model.gone_notice"), Reply(turn.t("model.gone")))
    await services.users.update(turn.user, preferred_model=chosen.name)
    text = turn.t("model.set", model=chosen.display_name or chosen.name)
    return Pressed(turn.t("model.set_notice"), Reply(text))


BUTTONS: dict[ButtonAction, PressHandler] = {ButtonAction.MODEL: model_pressed}

COMMAND = Command("model", choose_model)
