"""The owner's scan tool: one JSON object per input line, or for --text."""

from __future__ import annotations

import io
import json

import pytest

from bot.config.safety import PhraseRule, SafetySettings
from bot.safety.scan import scan_main


def _run(argv: list[str], stdin: str = "", settings: SafetySettings | None = None) -> tuple[int, list[str]]:
    stdout = io.StringIO()
    code = scan_main(argv, io.StringIO(stdin), stdout, settings)
    return code, stdout.getvalue().splitlines()


def test_one_json_object_per_line() -> None:
    code, lines = _run([], "hello everyone\nSam, I want to die\n\nيا جماعة بدي انتحر الليلة\n")
    assert code == 0
    records = [json.loads(line) for line in lines]
    assert [r["line"] for r in records] == [1, 2, 3, 4]
    assert [r["tier"] for r in records] == ["none", "concern", "none", "urgent"]
    assert records[0]["matches"] == []
    assert records[1]["matches"] == [
        {"phrase": "want to die", "tier": "concern", "lexicon": "en", "span": [7, 18], "about_other": False}
    ]
    assert records[3]["language"] == "ar"
    assert "جماعة" not in lines[3]  # the member's words are not echoed, only lexicon phrases
    assert "Sam" not in lines[1]


def test_text_option_scans_one_message() -> None:
    code, lines = _run(["--text", "my friend wants to kill herself"])
    assert code == 0
    [line] = lines
    record = json.loads(line)
    assert record["tier"] == "concern"
    assert record["about_other"] is True
    assert "line" not in record


def test_owner_settings_are_used() -> None:
    settings = SafetySettings(extra_phrases=[PhraseRule(phrase="code purple", tier="urgent", language="en")])
    _, lines = _run(["--text", "CODE PURPLE"], settings=settings)
    assert json.loads(lines[0])["matches"][0]["lexicon"] == "config"
    _, without = _run(["--text", "CODE PURPLE"])
    assert json.loads(without[0])["tier"] == "none"


def test_config_option_is_accepted_for_the_caller() -> None:
    code, lines = _run(["--config", "config.yaml", "--text", "hi"])
    assert code == 0
    assert json.loads(lines[0])["tier"] == "none"


def test_help_and_usage_errors_return_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _run(["--help"])
    assert code == 0
    assert any("--text" in line for line in lines)
    code, lines = _run(["--bogus"])
    assert code == 2
    assert lines == []
    assert "unrecognized arguments" in capsys.readouterr().err
