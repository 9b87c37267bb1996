"""The README stays in step with the code it describes."""

from __future__ import annotations

import re
from pathlib import Path

from bot.reference import command_reference, readme_table

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")


def test_command_table_matches_the_catalogue() -> None:
    assert readme_table(README) == command_reference(), "run: python -m bot.reference --write README.md"


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_test_one() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", quick, flags=re.S)
    assert len(blocks) == 2
    run, test = blocks
    assert "peer-circles demo" in run
    assert "pytest" in test
    assert test in (ROOT / ".ci" / "run").read_text("utf-8")
