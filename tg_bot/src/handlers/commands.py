"""The bot's commands: one `Command` per handler module, collected in a registry that answers
them, lists them in /help and registers them with `setMyCommands` in every language.

A later feature adds a command by writing its module (a handler and a `COMMAND`) and
registering it: `registry.register(calendar.COMMAND)`; its menu text is the catalogue
entry `command.<name>`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field

from common.features.buttons import ButtonData, decode
from common.features.catalogue import DEFAULT_LANGUAGE, Texts
from common.infrastructure.queue_messages import Button, IncomingMessage, OutgoingMessage
from tg_bot.src.domain.formatting import escape_markdown
from tg_bot.src.handlers.addressing import CommandCall
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.i18n import CATALOGUE


@dataclass(frozen=True)
class Reply:
    """An answer with buttons under it (a command's, or a pressed button's new message)."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)


@dataclass(frozen=True)
class Press:
    """One tapped button of the bot's: `turn` is the presser in the chat of the message the
    button is under (`turn.message`, the bot's own), `data` what the button says."""

    turn: Addressed
    query_id: str
    data: ButtonData

    @property
    def shown_text(self) -> str:
        """The message's text as the user sees it, as Markdown: kept when a button is answered
        by a line under it."""
        return escape_markdown(self.turn.message.text or self.turn.message.caption or "")

    def below(self, line: str, *, keep_others: bool = False) -> Reply:
        """The message as it was with `line` under it, and no buttons any more; with
        `keep_others`, the rows of buttons about other targets stay (the answer's other
        questions are still open)."""
        shown = self.shown_text
        kept = self.other_rows() if keep_others else []
        return Reply(f"{shown}\n\n{line}" if shown else line, kept)

    def other_rows(self) -> list[list[Button]]:
        """The message's rows of our buttons that act on something else than this one."""
        markup = self.turn.message.reply_markup
        rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
        kept: list[list[Button]] = []
        for row in rows if isinstance(rows, list) else []:
            buttons = [_ours(raw) for raw in row] if isinstance(row, list) else []
            if buttons and all(b is not None and b[1].target != self.data.target for b in buttons):
                kept.append([b[0] for b in buttons if b is not None])
        return kept


@dataclass(frozen=True)
class Pressed:
    """What a tapped button leads to: a short notice (the callback query's answer, plain text)
    and, unless None, the message's new text and buttons; `incoming`, a message for the
    assistant (queued with the edit, in one step). Without a new text the message's buttons
    may be tapped again."""

    notice: str
    reply: Reply | None = None
    incoming: IncomingMessage | None = None
    #: A new message sent after the tap, the message it was under left as it was (and its
    #: buttons free to be tapped again: a rating changes).
    follow_up: Reply | None = None


def _ours(raw: object) -> tuple[Button, ButtonData] | None:
    """A button of an inline keyboard as Telegram gives it back, if it is one of ours."""
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        return None
    data = decode(raw.get("callback_data"))
    if data is None:
        return None
    try:
        return Button(text=raw["text"], data=raw["callback_data"]), data
    except ValueError:
        return None


PressHandler = Callable[[Press, Services], Awaitable[Pressed]]
"""(the tapped button, the bot's services) → what it did."""

CommandHandler = Callable[[Addressed, str, Services], Awaitable[str | Reply]]
"""(the message, the text after the command, the bot's services) → the answer, Markdown,
with buttons when it has some."""


def reply_to(turn: Addressed, answer: str | Reply) -> OutgoingMessage:
    """The bot's message for a command's answer."""
    if isinstance(answer, str):
        return turn.reply(answer)
    return turn.reply(answer.text).model_copy(update={"buttons": answer.buttons})


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

    async def run(self, call: CommandCall, turn: Addressed, services: Services) -> str | Reply:
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
