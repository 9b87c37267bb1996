"""Pydantic's validation errors, retold in plain words for the person who wrote the configuration file."""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Collection, Mapping
from datetime import date
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bot.config.fields import RULES_ERROR

__all__ = ["SECRET_KEYS", "Loc", "explain_validation_error", "is_secret_path", "show_value"]

Loc = tuple[str | int, ...]

# Keys whose values are never repeated back, not even when they are the wrong type.
SECRET_KEYS = frozenset({"token", "access_token", "password"})

_WHOLE_NUMBER = {"int_type", "int_parsing", "int_from_float", "int_parsing_size"}
_NUMBER = {"float_type", "float_parsing", "finite_number"}
_BOOLEAN = {"bool_type", "bool_parsing"}
_SECTION = {"model_type", "model_attributes_type", "dict_type", "mapping_type"}
_LIST = {"list_type", "tuple_type", "iterable_type"}
_MESSAGE_FROM_VALIDATOR = {"value_error", "assertion_error"}
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be more than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be less than {}"),
}


def is_secret_path(loc: Loc) -> bool:
    """True where a value may be secret: tokens, passwords, the database URL (which can hold a password)."""
    named = [part for part in loc if isinstance(part, str)]
    return bool(named) and (named[-1] in SECRET_KEYS or tuple(named[:2]) == ("database", "url"))


def show_value(value: Any) -> str:
    """Write a value from the file the way the person wrote it: text quoted, nothing as 'nothing'."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "a section of keys and values"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a value of type {type(value).__name__}"


def _unwrap(annotation: Any) -> Any:
    # Strip "X | None", Annotated[...] to reach the model or list inside.
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _fields_at(root: type[BaseModel], loc: Loc) -> list[str]:
    """The keys allowed in the section at ``loc`` (empty if ``loc`` is not a section)."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            if get_origin(current) not in (list, tuple):
                return []
            current = get_args(current)[0]
        elif isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            current = current.model_fields[part].annotation
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _suggest(word: str, choices: Collection[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _unknown_key(root: type[BaseModel], loc: Loc) -> str:
    key = str(loc[-1])
    allowed = _fields_at(root, loc[:-1])
    guess = _suggest(key, allowed)
    if guess is not None:
        return f"unknown key {key!r} (did you mean {guess!r}?)"
    if allowed:
        return f"unknown key {key!r} (the keys allowed here are: {', '.join(allowed)})"
    return f"unknown key {key!r}"


def _not_a_choice(error: ErrorDetails, shown: str) -> str:
    expected = str(error.get("ctx", {}).get("expected", ""))
    choices = re.findall(r"'([^']*)'", expected)
    value = error["input"]
    guess = _suggest(value, choices) if isinstance(value, str) else None
    hint = f" (did you mean {guess!r}?)" if guess is not None else ""
    return f"{shown} is not one of the choices {expected}{hint}"


def _text_expected(value: Any, shown: str) -> str:
    if value is None:
        return (
            "expected text, got nothing (in YAML a value starting with # is a comment: put values such as "
            "#room:example.org in quotes)"
        )
    if isinstance(value, bool):
        return f"expected text, got {shown} (YAML reads yes, no, on and off as true or false: put it in quotes)"
    return f"expected text, got {shown}"


def _describe(error: ErrorDetails, shown: str, root: type[BaseModel]) -> str:
    kind = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx", {})
    value = error["input"]
    if kind == "extra_forbidden":
        return _unknown_key(root, tuple(error["loc"]))
    if kind == "missing":
        return "is required"
    if kind in _MESSAGE_FROM_VALIDATOR:
        return str(ctx.get("error", error["msg"]))
    if kind in _WHOLE_NUMBER:
        return f"expected a whole number, got {shown}"
    if kind in _NUMBER:
        return f"expected a number, got {shown}"
    if kind in _BOOLEAN:
        return f"expected true or false, got {shown}"
    if kind == "string_type":
        return _text_expected(value, shown)
    if kind in _SECTION:
        return f"expected a section of keys and values (indented lines like 'key: value'), got {shown}"
    if kind in _LIST:
        return f"expected a list (lines starting with '- ', or [a, b]), got {shown}"
    if kind in ("literal_error", "enum"):
        return _not_a_choice(error, shown)
    if kind in _BOUNDS:
        key, phrase = _BOUNDS[kind]
        return f"{phrase.format(ctx.get(key))}, got {shown}"
    if kind == "string_too_short":
        size = ctx.get("min_length", 1)
        return "must not be empty" if size == 1 else f"must be at least {size} characters long"
    if kind == "string_too_long":
        return f"is too long: at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        size = ctx.get("min_length", 1)
        return "must list at least one entry" if size == 1 else f"must list at least {size} entries"
    if kind == "too_long":
        return f"lists too many entries: at most {ctx.get('max_length')}"
    if kind.startswith("date"):
        return f"expected a date written like 2025-01-31, got {shown}"
    if kind.startswith("path"):
        return f"expected a folder path, got {shown}"
    return str(error["msg"])


def explain_validation_error(
    error: ValidationError, root: type[BaseModel], env_names: Mapping[Loc, str] | None = None
) -> list[tuple[Loc, str]]:
    """Turn each pydantic error into ``(location, message)``; a cross-field rule error becomes one per key.

    ``env_names`` maps a location whose value came from an environment variable to that variable, so a message
    names the variable instead of repeating what may be a secret.
    """
    env_names = env_names or {}
    out: list[tuple[Loc, str]] = []
    for detail in error.errors(include_url=False):
        loc: Loc = tuple(detail["loc"])
        if detail["type"] == RULES_ERROR:
            for where, message in detail.get("ctx", {}).get("problems", []):
                out.append(((*loc, *where), message))
            continue
        if is_secret_path(loc):
            shown = "a value that is not shown because it may be secret"
        elif loc in env_names:
            shown = f"the value of environment variable {env_names[loc]}"
        else:
            shown = show_value(detail["input"])
        out.append((loc, _describe(detail, shown, root)))
    return out
