"""The command catalogue: each command declared once, rendered by every adapter from its declaration.

A :class:`Command` names its group and verb, its typed options, the lowest role that may run it, the catalogue
keys of its help text, and its handler. Discord renders the declarations as slash-command groups; Matrix and the
console parse ``!circle join "Evening circle"`` with :func:`parse_command_text`; ``help`` is generated from them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.model import Action, Role

if TYPE_CHECKING:
    from bot.engine import CommandContext

__all__ = [
    "Command",
    "CommandCatalogue",
    "Handler",
    "Option",
    "OptionKind",
    "ParsedCommand",
    "parse_command_text",
]

Handler = Callable[["CommandContext"], Awaitable[Sequence[Action]]]

MAX_TEXT_LENGTH = 1000


class OptionKind(StrEnum):
    """How an option's value is typed and rendered."""

    TEXT = "text"
    INTEGER = "integer"
    CHOICE = "choice"


@dataclass(frozen=True, slots=True)
class Option:
    """One typed argument of a command.

    ``rest`` marks the last positional text option that takes every remaining word, so ``!circle join Evening
    circle`` works without quotes. ``autocomplete`` names a value source (``"circle"``, ``"locale"``) that adapters
    with autocomplete offer.
    """

    name: str
    kind: OptionKind = OptionKind.TEXT
    required: bool = True
    rest: bool = False
    choices: tuple[str, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    max_length: int = 200
    autocomplete: str | None = None
    help_key: str = ""
    free_text: bool = False
    """Words a person wrote in their own voice (a note, a suggestion): scanned for crisis language like messages."""

    @property
    def description_key(self) -> str:
        """Catalogue key of the option's one-line description."""
        return self.help_key or f"option.{self.name}"

    def convert(self, raw: str) -> object:
        """Turn the typed text into the option's value; raises :class:`UserError` with a clear message."""
        value = raw.strip()
        if self.kind is OptionKind.INTEGER:
            try:
                number = int(value)
            except ValueError:
                raise UserError("error.arg_not_number", option=self.name, value=_clip(value)) from None
            if (self.min_value is not None and number < self.min_value) or (
                self.max_value is not None and number > self.max_value
            ):
                raise UserError("error.arg_out_of_range", option=self.name, low=self.min_value, high=self.max_value)
            return number
        if self.kind is OptionKind.CHOICE:
            lowered = value.casefold()
            for choice in self.choices:
                if choice.casefold() == lowered:
                    return choice
            raise UserError(
                "error.arg_bad_choice", option=self.name, value=_clip(value), choices=", ".join(self.choices)
            )
        if not value:
            raise UserError("error.arg_missing", option=self.name)
        if len(value) > self.max_length:
            raise UserError("error.arg_too_long", option=self.name, limit=self.max_length)
        return value


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Command:
    """A command declaration: the one place a command's shape, permission and handler are stated."""

    name: str
    """Qualified name: ``"circle join"``, or a single word such as ``"help"``."""
    handler: Handler
    options: tuple[Option, ...] = ()
    min_role: Role = Role.MEMBER
    private: bool = True
    """Whether replies go only to the invoker (ephemeral on Discord, a DM or notice on Matrix)."""
    console_only: bool = False

    @property
    def group(self) -> str | None:
        """The group word (``"circle"``), or ``None`` for a top-level command."""
        head, _, tail = self.name.partition(" ")
        return head if tail else None

    @property
    def verb(self) -> str:
        """The last word of the name."""
        return self.name.rpartition(" ")[2]

    @property
    def key(self) -> str:
        """The name with dots, as used in catalogue keys (``circle.join``)."""
        return self.name.replace(" ", ".")

    @property
    def help_key(self) -> str:
        """Catalogue key of the one-line description (flat, so a command may also name a group)."""
        return f"help.cmd.{self.name.replace(' ', '_')}"

    def usage(self) -> str:
        """A usage line generated from the options: ``circle create <name> [topic=…] [capacity=…]``."""
        parts = [self.name]
        for option in self.options:
            shown = "|".join(option.choices) if option.kind is OptionKind.CHOICE else option.name
            if option.required:
                parts.append(f"<{shown}>")
            elif option.rest or option.kind is OptionKind.CHOICE:
                parts.append(f"[{shown}]")
            else:
                parts.append(f"[{option.name}=…]")
        return " ".join(parts)

    def option(self, name: str) -> Option | None:
        """The option called ``name``, if the command has one."""
        for option in self.options:
            if option.name == name:
                return option
        return None


@dataclass(frozen=True, slots=True)
class CommandCatalogue:
    """Every command, by qualified name, in declaration order."""

    commands: Mapping[str, Command] = field(default_factory=dict)

    @classmethod
    def of(cls, commands: Iterable[Command]) -> CommandCatalogue:
        """Build a catalogue; a name declared twice is a programming error."""
        table: dict[str, Command] = {}
        for command in commands:
            if command.name in table:
                raise ValueError(f"command {command.name!r} is declared twice")
            table[command.name] = command
        return cls(table)

    def get(self, name: str) -> Command | None:
        """The command called ``name``."""
        return self.commands.get(name)

    def groups(self) -> dict[str, list[Command]]:
        """Grouped commands by group word, for Discord command groups and for help."""
        grouped: dict[str, list[Command]] = {}
        for command in self.commands.values():
            if command.group is not None:
                grouped.setdefault(command.group, []).append(command)
        return grouped

    def top_level(self) -> list[Command]:
        """Commands with no group."""
        return [command for command in self.commands.values() if command.group is None]

    def __iter__(self) -> Iterator[Command]:
        return iter(self.commands.values())

    def visible_to(self, role: Role, *, console: bool = False) -> list[Command]:
        """The commands a person with ``role`` may run, in declaration order."""
        return [
            command
            for command in self.commands.values()
            if command.min_role <= role and (console or not command.console_only)
        ]


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A text command matched to its declaration, with typed arguments."""

    command: Command
    args: Mapping[str, object]


_QUOTES = {'"': '"', "“": "”", "„": "“", "«": "»"}


def _split(text: str) -> list[str]:
    """Words, where double quotes (straight, curly or guillemets) group a name with spaces.

    Apostrophes are ordinary letters: people write "I can't" far more often than they quote with single quotes,
    and a note must never be refused for it.
    """
    words: list[str] = []
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char.isspace():
            index += 1
            continue
        if char in _QUOTES:
            close = text.find(_QUOTES[char], index + 1)
            if close < 0:
                raise UserError("error.unbalanced_quotes")
            words.append(text[index + 1 : close])
            index = close + 1
            continue
        start = index
        while index < length and not text[index].isspace():
            if text[index] in _QUOTES:  # key="two words"
                close = text.find(_QUOTES[text[index]], index + 1)
                if close < 0:
                    raise UserError("error.unbalanced_quotes")
                index = close + 1
            else:
                index += 1
        word = text[start:index]
        for opening, closing in _QUOTES.items():
            key, sep, value = word.partition("=")
            if sep and value.startswith(opening) and value.endswith(closing) and len(value) >= 2:
                word = f"{key}={value[1:-1]}"
                break
        words.append(word)
    return words


def parse_command_text(catalogue: CommandCatalogue, text: str) -> ParsedCommand:
    """Parse ``circle join "Evening circle"`` (the text after the prefix) against the catalogue.

    Options fill positionally, or by ``name=value``; a ``rest`` option takes the remaining words. Raises
    :class:`UserError` for an unknown command, a missing or surplus argument, or a value of the wrong type.
    """
    if len(text) > MAX_TEXT_LENGTH * 4:
        raise UserError("error.too_long")
    words = _split(text)
    if not words:
        raise UserError("error.unknown_command", command="", hint="help")
    head = words[0].casefold()
    command: Command | None = None
    consumed = 1
    if len(words) > 1:
        command = catalogue.get(f"{head} {words[1].casefold()}")
        consumed = 2
    if command is None:
        command = catalogue.get(head)
        consumed = 1
    if command is None:
        if head in catalogue.groups():
            raise UserError("error.unknown_subcommand", group=head, hint=f"help {head}")
        raise UserError("error.unknown_command", command=_clip(words[0]), hint="help")
    return ParsedCommand(command, _bind(command, words[consumed:]))


def _bind(command: Command, words: Sequence[str]) -> dict[str, object]:
    named: dict[str, str] = {}
    positional: list[str] = []
    for word in words:
        key, sep, value = word.partition("=")
        if sep and command.option(key.casefold()) is not None:
            if key.casefold() in named:
                raise UserError("error.arg_repeated", option=key.casefold())
            named[key.casefold()] = value
        else:
            positional.append(word)
    raw: dict[str, str] = dict(named)
    unnamed = [option for option in command.options if option.name not in named]
    rest_at = next((index for index, option in enumerate(unnamed) if option.rest), len(unnamed))
    before, rest, after = unnamed[:rest_at], unnamed[rest_at : rest_at + 1], unnamed[rest_at + 1 :]
    remaining = list(positional)
    for option in before:
        if remaining:
            raw[option.name] = remaining.pop(0)
    # Required options after a multi-word one take single words from the end (`facilitate train Evening circle
    # amal`); optional ones there are given by name, or a name ending in a number would be misread.
    for option in reversed(after):
        if remaining and (option.required or not rest):
            raw[option.name] = remaining.pop() if rest else remaining.pop(0)
    if rest and remaining:
        raw[rest[0].name] = " ".join(remaining)
        remaining = []
    if remaining:
        raise UserError("error.arg_surplus", extra=_clip(" ".join(remaining)), usage=command.usage())
    args: dict[str, object] = {}
    for option in command.options:
        if option.name in raw:
            args[option.name] = option.convert(raw[option.name])
        elif option.required:
            raise UserError("error.arg_missing_usage", option=option.name, usage=command.usage())
    return args


def check_args(command: Command, args: Mapping[str, object]) -> dict[str, object]:
    """Validate already-typed arguments (from Discord options) against the declaration."""
    checked: dict[str, object] = {}
    for option in command.options:
        value = args.get(option.name)
        if value is None:
            if option.required:
                raise UserError("error.arg_missing_usage", option=option.name, usage=command.usage())
            continue
        checked[option.name] = option.convert(str(value))
    unknown = set(args) - {option.name for option in command.options}
    if unknown:
        raise UserError("error.arg_surplus", extra=", ".join(sorted(unknown)), usage=command.usage())
    return checked
