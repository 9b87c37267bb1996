"""Slash commands generated from the command catalogue: one group per group word, typed options, localized text.

Discord forbids a name that is both a command and a group (``/resources`` and ``/resources suggest``). Such a bare
command becomes a subcommand of its group under :func:`bare_verb`: ``add`` when it takes a required value (``/checkin
add mood:3``), otherwise ``show`` (``/resources show``). No command is special-cased by name.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord
from discord import app_commands

from bot.commands import Command, CommandCatalogue, Option, OptionKind
from bot.i18n import Catalogue

from .render import clip

__all__ = [
    "CatalogueTranslator",
    "Completer",
    "Runner",
    "bare_verb",
    "build_commands",
    "choice_key",
    "discord_locales",
    "group_key",
    "slash_paths",
]

Runner = Callable[[discord.Interaction, Command, dict[str, object]], Awaitable[None]]
"""Runs a catalogue command for an interaction, with arguments keyed by option name."""

Completer = Callable[[discord.Interaction, str, str], Awaitable[list[str]]]
"""Suggests values for an autocomplete source (``"circle"``, ``"timezone"``) given what was typed."""

DESCRIPTION_LIMIT = 100
STRING_LIMIT = 6000

DEFAULT_LOCALE = "en"


def discord_locales(locales: tuple[str, ...]) -> dict[discord.Locale, str]:
    """The Discord locales each catalogue locale serves (``fr`` -> ``fr``; ``pt`` -> ``pt-BR``). English is the
    commands' own language. Discord offers no Arabic client locale, so Arabic names and descriptions cannot be
    attached to commands today; Arabic speakers get Arabic replies through their ``/me language`` choice instead.
    """
    mapping: dict[discord.Locale, str] = {}
    for locale in locales:
        if locale == DEFAULT_LOCALE:
            continue
        for candidate in discord.Locale:
            if candidate.value == locale or candidate.value.startswith(f"{locale}-"):
                mapping[candidate] = locale
    return mapping


AUTOCOMPLETED = frozenset({"circle", "timezone"})


def group_key(group: str) -> str:
    """Catalogue key of a command group's description."""
    return f"discord.group.{group}"


def bare_verb(command: Command, siblings: list[Command]) -> str:
    """The subcommand name of a bare command whose name is also a group."""
    taken = {sibling.verb for sibling in siblings}
    preferred = "add" if any(option.required for option in command.options) else "show"
    return preferred if preferred not in taken else "run"


def slash_paths(catalogue: CommandCatalogue) -> dict[str, tuple[str, ...]]:
    """Each catalogue command's slash path: ``circle join`` -> ``("circle", "join")``, ``checkin`` -> ``("checkin",
    "add")``. Console-only commands have none."""
    groups = catalogue.groups()
    paths: dict[str, tuple[str, ...]] = {}
    for command in catalogue:
        if command.console_only:
            continue
        if command.group is not None:
            paths[command.name] = (command.group, command.verb)
        elif command.name in groups:
            paths[command.name] = (command.name, bare_verb(command, groups[command.name]))
        else:
            paths[command.name] = (command.name,)
    return paths


class CatalogueTranslator(app_commands.Translator):
    """Gives Discord the catalogue's Arabic for every description marked with a catalogue key."""

    def __init__(self, messages: Catalogue, locales: Mapping[discord.Locale, str] | None = None) -> None:
        self.messages = messages
        self.locales = dict(discord_locales(messages.locales) if locales is None else locales)

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        key = string.extras.get("key")
        target = self.locales.get(locale)
        if not isinstance(key, str) or target is None or not self.messages.has(key):
            return None
        return clip(self.messages.t(target, key), DESCRIPTION_LIMIT)


def _text(messages: Catalogue, key: str) -> app_commands.locale_str:
    return app_commands.locale_str(clip(messages.t("en", key), DESCRIPTION_LIMIT), key=key)


def choice_key(value: str) -> str:
    """Catalogue key of a choice's display name (``discord.choice.on``); the value itself when there is none."""
    return f"discord.choice.{value.replace('-', '_')}"


def _choice_name(messages: Catalogue, value: str) -> app_commands.locale_str:
    """A choice's name in English, marked with its catalogue key so the translator can localise it. The value
    sent back is always the catalogue's own value; only the label a person sees changes."""
    key = choice_key(value)
    if not messages.has(key):
        return app_commands.locale_str(value)
    return app_commands.locale_str(clip(messages.t(DEFAULT_LOCALE, key), DESCRIPTION_LIMIT), key=key)


def _annotation(option: Option) -> Any:
    if option.kind is OptionKind.INTEGER:
        if option.min_value is None and option.max_value is None:
            return int
        return app_commands.Range[int, option.min_value, option.max_value]
    return app_commands.Range[str, 1, min(option.max_length, STRING_LIMIT)]


def _slash_command(
    command: Command, verb: str, messages: Catalogue, runner: Runner, completer: Completer
) -> app_commands.Command[Any, ..., None]:
    names = {f"option_{index}": option.name for index, option in enumerate(command.options)}

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        args = {names[key]: value for key, value in values.items() if value is not None}
        await runner(interaction, command, args)

    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Any)]
    descriptions: dict[str, app_commands.locale_str] = {}
    choices: dict[str, list[app_commands.Choice[str]]] = {}
    completions: dict[str, Any] = {}
    for python_name, option in zip(names, command.options, strict=True):
        parameters.append(
            inspect.Parameter(
                python_name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_annotation(option),
                default=inspect.Parameter.empty if option.required else None,
            )
        )
        descriptions[python_name] = _text(messages, option.description_key)
        if option.kind is OptionKind.CHOICE:
            choices[python_name] = [
                app_commands.Choice(name=_choice_name(messages, value), value=value) for value in option.choices
            ]
        elif option.autocomplete in AUTOCOMPLETED:
            completions[python_name] = _suggester(option.autocomplete, completer)
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    decorated: Any = app_commands.rename(**names)(app_commands.describe(**descriptions)(callback))
    if choices:
        decorated = app_commands.choices(**choices)(decorated)
    if completions:
        decorated = app_commands.autocomplete(**completions)(decorated)
    return app_commands.Command(
        name=verb, description=_text(messages, command.help_key), callback=decorated, nsfw=False
    )


def _suggester(source: str, completer: Completer) -> Any:
    async def suggest(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        values = await completer(interaction, source, current)
        return [app_commands.Choice(name=clip(value, DESCRIPTION_LIMIT), value=value) for value in values]

    return suggest


def build_commands(
    catalogue: CommandCatalogue, messages: Catalogue, runner: Runner, completer: Completer
) -> list[app_commands.Command[Any, ..., None] | app_commands.Group]:
    """Every catalogue command as a slash command or group, in catalogue order."""
    paths = slash_paths(catalogue)
    groups: dict[str, app_commands.Group] = {}
    roots: list[app_commands.Command[Any, ..., None] | app_commands.Group] = []
    for command in catalogue:
        path = paths.get(command.name)
        if path is None:
            continue
        if len(path) == 1:
            roots.append(_slash_command(command, path[0], messages, runner, completer))
            continue
        group = groups.get(path[0])
        if group is None:
            group = app_commands.Group(name=path[0], description=_text(messages, group_key(path[0])))
            groups[path[0]] = group
            roots.append(group)
        group.add_command(_slash_command(command, path[1], messages, runner, completer))
    return roots
