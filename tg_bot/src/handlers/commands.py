"""The bot's commands: one `Command` per handler module, collected in a registry that answers
them, lists them in /help and registers them with `setMyCommands` in every language.

A later feature adds a command by writing its module (a handler and a `COMMAND`) and
registering it: `registry.register(calendar.COMMAND)`; its menu text is the catalogue
entry `command.<name>`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass

from common.catalogue import DEFAULT_LANGUAGE, Texts
from tg_bot.src.handlers.addressing import CommandCall
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.i18n import CATALOGUE

CommandHandler = Callable[[Addressed, str, Services], Awaitable[str]]
"""(the message, the text after the command, the bot's services) → the answer, Markdown."""


@dataclass(frozen=True)
class Command:
    name: str
    handler: CommandHandler
    in_menu: bool = True

    @property
    def description_key(self) -> str:
        return f"command.{self.name}"


class CommandRegistry:
    def __init__(self, commands: Iterable[Command] = ()) -> None:
        self._commands: dict[str, Command] = {}
        for command in commands:
            self.register(command)

    def register(self, command: Command) -> None:
        if command.name in self._commands:
            raise ValueError(f"/{command.name} is registered twice")
        self._commands[command.name] = command

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    async def run(self, call: CommandCall, turn: Addressed, services: Services) -> str:
        command = self.get(call.name)
        if command is None:
            return turn.t("unknown_command", command=call.name)
        return await command.handler(turn, call.args, services)

    def menu(self, catalogue: Texts) -> list[dict[str, str]]:
        """The `setMyCommands` list in the catalogue's language."""
        return [
            {"command": c.name, "description": catalogue.text(c.description_key)}
            for c in self
            if c.in_menu
        ]

    def menus(self) -> dict[str | None, list[dict[str, str]]]:
        """One menu per language; the default language's is also the one for everyone else."""
        found: dict[str | None, list[dict[str, str]]] = {
            None: self.menu(CATALOGUE.speaking(DEFAULT_LANGUAGE))
        }
        for language in CATALOGUE.languages:
            if language != DEFAULT_LANGUAGE:
                found[language] = self.menu(CATALOGUE.speaking(language))
        return found
