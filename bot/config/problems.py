"""What is wrong with a configuration, said so that the person who wrote the file can fix it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["ConfigError", "ConfigProblem", "format_path"]


def format_path(parts: Sequence[str | int]) -> str:
    """Write a location as ``communities[0].timezone``: keys joined by dots, list positions in brackets."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a configuration file.

    Attributes:
        file: the file as the user named it, or None when there is no file (built-in defaults).
        line: 1-based line in that file, or None when the problem has no single place (the file is missing).
        path: where in the configuration, like ``communities[0].timezone``; empty for the file as a whole.
        message: plain words, never containing a secret value.
    """

    file: str | None
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        elif self.line is not None:
            where = f"line {self.line}"
        pieces = [piece for piece in (where, self.path, self.message) if piece]
        return ": ".join(pieces)


def _sort_key(problem: ConfigProblem) -> tuple[int, int, str]:
    # Problems without a line (a missing file) come first: they usually explain everything after them.
    return (0 if problem.line is None else 1, problem.line or 0, problem.path)


class ConfigError(Exception):
    """The configuration cannot be used. ``problems`` lists every reason found, sorted by line.

    ``str()`` gives a header and one indented line per problem, ready to print to the server owner.
    """

    def __init__(self, problems: Iterable[ConfigProblem], file: str | None = None) -> None:
        self.problems: list[ConfigProblem] = sorted(problems, key=_sort_key)
        self.file = file
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        source = f"the configuration in {self.file}" if self.file else "the configuration"
        lines = [f"{source} has {count} {noun}:"]
        lines.extend(f"  {problem}" for problem in self.problems)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._render()
