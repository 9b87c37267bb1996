"""The ``communities`` section: each Discord server, Matrix space or console the bot serves."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, model_validator

from bot.config.fields import (
    CASE_INSENSITIVE,
    ConfigModel,
    Locale,
    check_country,
    check_matrix_room,
    check_slug,
    check_snowflake,
    check_timezone,
    is_matrix_room,
    is_matrix_user,
    is_snowflake,
    raise_rule_problems,
)
from bot.model import Platform

__all__ = ["Community", "ModeratorSettings", "PowerLevels", "RoleSettings"]

Problems = list[tuple[tuple[str | int, ...], str]]

_GuildId = Annotated[str, AfterValidator(partial(check_snowflake, what="a Discord server id"))]
_RoomId = Annotated[str, AfterValidator(partial(check_matrix_room, alias_ok=False))]
_Room = Annotated[str, AfterValidator(check_matrix_room)]
_Text = Annotated[str, Field(min_length=1, max_length=255)]


class ModeratorSettings(ConfigModel):
    """Where crisis alerts and reports go.

    ``destination`` is a Discord channel id or a Matrix room; ``fallback`` is tried when it cannot be reached;
    ``on_call_role`` is mentioned in each alert (a Discord role id, or on Matrix a user to mention).
    """

    destination: _Text | None = None
    fallback: _Text | None = None
    on_call_role: _Text | None = None


class RoleSettings(ConfigModel):
    """Who holds each engine role beyond what the platform grants: Discord role ids or Matrix user ids."""

    admin: list[_Text] = Field(default_factory=list)
    moderator: list[_Text] = Field(default_factory=list)
    facilitator: list[_Text] = Field(default_factory=list)


class PowerLevels(ConfigModel):
    """Matrix power levels that count as moderator and admin in the bot (Matrix communities only)."""

    moderator: int = 50
    admin: int = 100

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        if self.moderator > self.admin:
            raise_rule_problems(
                [
                    (
                        ("moderator",),
                        f"{self.moderator} is above the admin level {self.admin}; a moderator's level "
                        "must not be higher than an admin's",
                    )
                ]
            )
        return self


class Community(ConfigModel):
    """One community: where it lives, how it speaks, which time it keeps, and who moderates it."""

    id: Annotated[str, AfterValidator(check_slug)]
    platform: Annotated[Platform, CASE_INSENSITIVE]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    guild_id: _GuildId | None = None
    space: _RoomId | None = None
    rooms: list[_Room] = Field(default_factory=list)
    locale: Locale = "en"
    timezone: Annotated[str, AfterValidator(check_timezone)] = "UTC"
    country: Annotated[str, AfterValidator(check_country)] | None = None
    moderators: ModeratorSettings = Field(default_factory=ModeratorSettings)
    roles: RoleSettings = Field(default_factory=RoleSettings)
    power_levels: PowerLevels = Field(default_factory=PowerLevels)

    @property
    def zone(self) -> ZoneInfo:
        """The community's timezone, ready for datetime arithmetic."""
        return ZoneInfo(self.timezone)

    @property
    def native_id(self) -> str:
        """The platform's id for the community: the guild id, the space (or first room), or the console id."""
        if self.platform is Platform.DISCORD and self.guild_id is not None:
            return self.guild_id
        if self.platform is Platform.MATRIX:
            return self.space or (self.rooms[0] if self.rooms else "")
        return self.id

    @model_validator(mode="after")
    def _check_platform_fields(self) -> Self:
        problems: Problems = []
        if self.platform is Platform.DISCORD:
            if self.guild_id is None:
                problems.append(
                    (
                        ("guild_id",),
                        "is required for a Discord community: the server id (right-click "
                        "the server icon, Copy Server ID)",
                    )
                )
            problems += self._check_ids(
                is_snowflake,
                "a Discord channel id (17 to 20 digits)",
                is_snowflake,
                "a Discord role id (17 to 20 digits)",
            )
        else:
            if self.guild_id is not None:
                problems.append(
                    (
                        ("guild_id",),
                        f"is only for Discord communities; a {self.platform.value} community must not have one",
                    )
                )
        if self.platform is Platform.MATRIX:
            if self.space is None and not self.rooms:
                problems.append(
                    (
                        ("space",),
                        "is required for a Matrix community unless rooms lists at least one "
                        "room: give the space's room id (!abc:example.org) or list the rooms",
                    )
                )
            problems += self._check_ids(
                is_matrix_room,
                "a Matrix room (!id:server or #alias:server)",
                is_matrix_user,
                "a Matrix user id (@name:server)",
            )
        else:
            for key in ("space", "rooms"):
                if key in self.model_fields_set and getattr(self, key):
                    problems.append(
                        (
                            (key,),
                            f"is only for Matrix communities; a {self.platform.value} community must not have it",
                        )
                    )
            if "power_levels" in self.model_fields_set:
                problems.append((("power_levels",), "applies only to Matrix communities; remove it here"))
        raise_rule_problems(problems)
        return self

    def _check_ids(
        self,
        room_ok: Callable[[str], bool],
        room_text: str,
        member_ok: Callable[[str], bool],
        member_text: str,
    ) -> Problems:
        # Destinations and role entries are plain text in the schema: their shape depends on the platform.
        problems: Problems = []
        for key in ("destination", "fallback"):
            value = getattr(self.moderators, key)
            if value is not None and not room_ok(value):
                problems.append((("moderators", key), f"{value!r} is not {room_text}"))
        on_call = self.moderators.on_call_role
        if on_call is not None and not member_ok(on_call):
            problems.append((("moderators", "on_call_role"), f"{on_call!r} is not {member_text}"))
        for role in ("admin", "moderator", "facilitator"):
            for index, entry in enumerate(getattr(self.roles, role)):
                if not member_ok(entry):
                    problems.append((("roles", role, index), f"{entry!r} is not {member_text}"))
        return problems
