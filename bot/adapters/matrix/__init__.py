"""The Matrix adapter (matrix-nio): communities as spaces or sets of rooms, commands, DMs, sessions and alerts.

``create_adapter`` is what :class:`bot.app.Application` calls when ``platforms.matrix.enabled`` is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.adapters.matrix.adapter import MatrixAdapter

if TYPE_CHECKING:
    from bot.app import Application

__all__ = ["MatrixAdapter", "create_adapter"]


def create_adapter(app: Application) -> MatrixAdapter:
    """The Matrix adapter for ``app``, registered with its deliverer as the Matrix outbox sender."""
    return MatrixAdapter(app.settings, app.engine, app.messages, app.database, app.deliverer)
