"""The Discord adapter: every catalogue command as a slash command, sessions in private threads, alerts with
persistent buttons, crisis scanning of messages, and an outbox sender.

The application imports this package and calls :func:`create_adapter`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .adapter import DiscordAdapter, apply_endpoints
from .bridge import Bridge, Services

if TYPE_CHECKING:
    from bot.app import Application

__all__ = ["Bridge", "DiscordAdapter", "Services", "apply_endpoints", "create_adapter"]


def create_adapter(app: Application) -> DiscordAdapter:
    """The Discord adapter for a running application; it reads ``app.settings`` whenever it needs them."""
    return DiscordAdapter(
        Services(
            engine=app.engine,
            messages=app.messages,
            database=app.database,
            deliverer=app.deliverer,
            settings=lambda: app.settings,
        )
    )
