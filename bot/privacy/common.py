"""Small helpers shared by the per-table export and forget functions."""

from __future__ import annotations

from datetime import datetime

__all__ = ["count_rows", "iso"]


def iso(value: datetime | None) -> str | None:
    """An aware datetime as an ISO 8601 string, or ``None``."""
    return None if value is None else value.isoformat()


def count_rows(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
