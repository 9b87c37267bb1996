"""The README's command reference, generated from the catalogue (a test keeps the README in step)."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.catalogue import build_catalogue
from bot.i18n import catalogue

__all__ = ["command_reference", "readme_table", "update_readme"]


def command_reference(locale: str = "en") -> str:
    """A Markdown table of every command: usage, who may run it, what it does, and its options."""
    messages = catalogue()
    rows = ["| Command | Who | What it does |", "| --- | --- | --- |"]
    for command in build_catalogue().commands.values():
        if command.console_only:
            continue
        options = "; ".join(
            f"`{option.name}`: {messages.t(locale, option.description_key)}" for option in command.options
        )
        what = messages.t(locale, command.help_key) + (f" ({options})" if options else "")
        who = messages.t(locale, f"role.{command.min_role.label}")
        # A pipe inside a table cell ends the cell unless escaped, even inside code.
        usage = command.usage().replace("|", "\\|")
        rows.append(f"| `{usage}` | {who} | {what} |")
    return "\n".join(rows)


START = "<!-- commands:start -->"
END = "<!-- commands:end -->"


def readme_table(readme: str) -> str:
    """The command table currently between the README's markers."""
    return readme.split(START, 1)[1].split(END, 1)[0].strip()


def update_readme(path: Path) -> None:
    """Replace the README's command table with the generated one."""
    text = path.read_text("utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{START}\n{command_reference()}\n{END}{tail}", "utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        update_readme(Path(sys.argv[2] if len(sys.argv) > 2 else "README.md"))
    else:
        print(command_reference())
