"""Persistent buttons on crisis alerts: Claim and Resolve, which work after a restart.

Each button's custom id carries the alert id (``pc:alert:claim:17``). They are :class:`discord.ui.DynamicItem`
templates registered once at start, so every alert ever posted keeps working without storing a view per alert.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

import discord

from bot.i18n import Catalogue

__all__ = ["AlertButton", "AlertHandler", "alert_view", "custom_id"]

ACTIONS = ("claim", "resolve")


def custom_id(action: str, escalation_id: int) -> str:
    """The persistent custom id of an alert button."""
    return f"pc:alert:{action}:{escalation_id}"


@runtime_checkable
class AlertHandler(Protocol):
    """What the client offers alert buttons: run ``alert claim`` / ``alert resolve`` as the person who clicked."""

    async def alert_clicked(self, interaction: discord.Interaction, action: str, escalation_id: int) -> None:
        """Run the alert command for the clicked button and answer privately."""
        ...


TEMPLATE = r"pc:alert:(?P<action>claim|resolve):(?P<id>\d+)"


class AlertButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """One Claim or Resolve button bound to one alert."""

    def __init__(self, action: str, escalation_id: int, label: str = "") -> None:
        style = discord.ButtonStyle.primary if action == "claim" else discord.ButtonStyle.success
        super().__init__(
            discord.ui.Button(label=label or action.title(), style=style, custom_id=custom_id(action, escalation_id))
        )
        self.action = action
        self.escalation_id = escalation_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AlertButton:
        button = item if isinstance(item, discord.ui.Button) else None
        return cls(match["action"], int(match["id"]), button.label or "" if button else "")

    async def callback(self, interaction: discord.Interaction) -> None:
        handler = interaction.client
        if isinstance(handler, AlertHandler):
            await handler.alert_clicked(interaction, self.action, self.escalation_id)


def alert_view(messages: Catalogue, locale: str, escalation_id: int) -> discord.ui.View:
    """Claim and Resolve buttons for one alert, labelled in the community's language."""
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(AlertButton(action, escalation_id, messages.t(locale, f"discord.alert.{action}")))
    return view
