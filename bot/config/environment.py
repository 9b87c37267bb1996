"""``${VAR}`` references in configuration values, filled from the environment so secrets stay out of the file.

``${NAME}`` is the variable's value; ``${NAME:-fallback}`` uses ``fallback`` when NAME is unset or empty
(as in a POSIX shell); ``$${`` is a literal ``${``. A fallback cannot contain ``}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config.messages import Loc

__all__ = ["Substitution", "substitute_env"]

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{")


@dataclass
class Substitution:
    """The result of filling in references.

    Attributes:
        data: a copy of the input, references replaced (a missing variable's reference stays as written).
        problems: ``(location, message)`` for each missing variable or malformed reference.
        missing: location -> names of the variables that were missing there.
        from_env: location -> the variable a value came from, so messages can name it instead of showing it.
    """

    data: Any = None
    problems: list[tuple[Loc, str]] = field(default_factory=list)
    missing: dict[Loc, list[str]] = field(default_factory=dict)
    from_env: dict[Loc, str] = field(default_factory=dict)


def substitute_env(data: Any, env: Mapping[str, str]) -> Substitution:
    """Fill ``${...}`` references in every string value (not key) of ``data``, recording what went wrong."""
    result = Substitution()
    result.data = _walk(data, (), env, result)
    return result


def _walk(value: Any, loc: Loc, env: Mapping[str, str], result: Substitution) -> Any:
    if isinstance(value, str):
        return _fill(value, loc, env, result)
    if isinstance(value, Mapping):
        return {key: _walk(item, (*loc, key), env, result) for key, item in value.items()}
    if isinstance(value, list):
        return [_walk(item, (*loc, index), env, result) for index, item in enumerate(value)]
    return value


def _fill(text: str, loc: Loc, env: Mapping[str, str], result: Substitution) -> str:
    if "${" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$${":
            return "${"
        name, fallback = match.group(1), match.group(2)
        if name is None:
            result.problems.append(
                (
                    loc,
                    "has a '${' that is not a reference like ${NAME} or ${NAME:-default} "
                    "(NAME is letters, digits and _; write $${ for a literal ${)",
                )
            )
            return whole
        value = env.get(name)
        if fallback is not None and not value:
            return fallback
        if value is None:
            result.missing.setdefault(loc, []).append(name)
            result.problems.append((loc, f"environment variable {name} is not set"))
            return whole
        result.from_env[loc] = name
        return value

    return _REFERENCE.sub(replace, text)
