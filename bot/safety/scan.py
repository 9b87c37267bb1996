"""``peer-circles safety scan``: the owner's tool to test crisis detection on their own messages.

Reads messages from standard input, one per line, and writes one JSON object per line: the input's line number,
``tier`` (none, distress, concern, urgent), ``matches`` (phrase, tier, lexicon, span, about_other), ``about_other``
and ``language``. ``--text MESSAGE`` scans one message instead. The caller loads ``--config`` and passes the
safety settings, so the owner's added, removed and excepted phrases are what is tested. Message text is never
echoed: the output can be shared with moderators to discuss a list without passing members' words around.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from bot.safety.detector import Detector

if TYPE_CHECKING:
    from bot.config.safety import SafetySettings

__all__ = ["scan_main"]

EXIT_USAGE = 2


class _Stop(Exception):
    """argparse wants to end the process (``--help``, a bad option); a library returns an exit code instead."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def __init__(self, stdout: TextIO) -> None:
        super().__init__(
            prog="peer-circles safety scan",
            description="Scan messages for crisis language: one JSON object per input line (or for --text).",
        )
        self._stdout = stdout

    def print_help(self, file: Any = None) -> None:
        super().print_help(file if file is not None else self._stdout)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _Stop(status)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def scan_main(argv: Sequence[str], stdin: TextIO, stdout: TextIO, settings: SafetySettings | None) -> int:
    """Run the scan command with ``argv`` (the arguments after ``safety scan``); returns the exit code."""
    parser = _Parser(stdout)
    parser.add_argument("--text", metavar="MESSAGE", help="scan this one message instead of standard input")
    parser.add_argument("--config", "-c", metavar="FILE", help="config file (read by peer-circles, not here)")
    try:
        args = parser.parse_args(list(argv))
    except _Stop as stop:
        return stop.status
    detector = Detector.build(settings)
    if args.text is not None:
        _write(stdout, detector.scan(args.text).to_json())
        return 0
    for number, line in enumerate(stdin, start=1):
        _write(stdout, {"line": number, **detector.scan(line.rstrip("\r\n")).to_json()})
    return 0


def _write(stdout: TextIO, record: dict[str, object]) -> None:
    stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    stdout.flush()  # one verdict per line as it is read, so the tool also works on a live pipe
