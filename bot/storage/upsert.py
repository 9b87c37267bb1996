"""Race-free get-or-create on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

__all__ = ["insert_ignore"]


async def insert_ignore(
    session: AsyncSession,
    model: type[DeclarativeBase],
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> None:
    """Insert a row (or many, in one statement) unless a unique constraint says it exists: two processes may race
    to create it, and a retried plan must not double it."""
    if isinstance(values, Sequence) and not values:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(model).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(model).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported backends reach here
        raise RuntimeError(f"unsupported database dialect {dialect}")
    if isinstance(values, Mapping):
        await session.execute(statement.values(**values))
    else:
        await session.execute(statement, list(values))
