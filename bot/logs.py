"""Logging in plain text or JSON lines. Log calls never carry message text, notes or tokens."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

__all__ = ["JsonFormatter", "configure_logging"]

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extra fields and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _without_voice_warnings(record: logging.LogRecord) -> bool:
    # discord.py warns at start that voice libraries are missing; Peer Circles has no voice features.
    return not (record.name.startswith("discord") and "voice will NOT be supported" in record.getMessage())


def configure_logging(level: str = "INFO", fmt: str = "plain", stream: TextIO | None = None) -> None:
    """Send logs to standard error (standard output stays the console adapter's)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_without_voice_warnings)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Library chatter at INFO (SQL, HTTP) is noise to an operator.
    for noisy in ("sqlalchemy", "aiosqlite", "alembic", "asyncio", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
