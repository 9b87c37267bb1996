"""The validated shape of the configuration: :class:`Settings` and its sections.

Every section forbids unknown keys and is frozen once loaded. Build a :class:`Settings` through
:func:`bot.config.load_config` (which names the file and line of every problem) or
:func:`bot.config.default_settings`; constructing it directly works too and resolves ``data_dir`` against the
working directory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from bot.config.communities import Community, ModeratorSettings, PowerLevels, RoleSettings
from bot.config.fields import CASE_INSENSITIVE, ConfigModel, PositiveDuration, raise_rule_problems
from bot.config.platforms import ConsoleSettings, DiscordSettings, MatrixSettings, PlatformsSettings
from bot.config.safety import PhraseException, PhraseRule, Resource, SafetySettings, default_resources
from bot.model import Platform

__all__ = [
    "BASE_DIR_CONTEXT",
    "CirclesSettings",
    "Community",
    "ConsoleSettings",
    "DatabaseSettings",
    "DiscordSettings",
    "LoggingSettings",
    "MatrixSettings",
    "ModeratorSettings",
    "ObservabilitySettings",
    "PhraseException",
    "PhraseRule",
    "PlatformsSettings",
    "PowerLevels",
    "PrivacySettings",
    "Resource",
    "RoleSettings",
    "SafetySettings",
    "SchedulingSettings",
    "Settings",
    "duplicate_community_ids",
]

# Validation context key: the directory a relative data_dir is resolved against (the config file's directory).
BASE_DIR_CONTEXT = "base_dir"

_SUPPORTED_DRIVERS = {"sqlite+aiosqlite": "SQLite", "postgresql+asyncpg": "PostgreSQL"}


def _check_database_url(url: str) -> str:
    # The URL may carry a password, so messages name only its scheme.
    scheme, separator, _ = url.partition("://")
    if not separator or not scheme:
        raise ValueError(
            "is not a database URL; write sqlite+aiosqlite:///path/to/peer-circles.db or "
            "postgresql+asyncpg://user:password@host/database"
        )
    lowered = scheme.lower()
    if lowered in _SUPPORTED_DRIVERS:
        return url
    if lowered.startswith("postgres"):
        raise ValueError(
            f"starts with '{scheme}://', which Peer Circles cannot use: it talks to PostgreSQL through "
            "asyncpg, so write 'postgresql+asyncpg://' instead"
        )
    if lowered.startswith("sqlite"):
        raise ValueError(
            f"starts with '{scheme}://', which Peer Circles cannot use: write 'sqlite+aiosqlite://' instead"
        )
    raise ValueError(
        f"uses '{scheme}://': Peer Circles supports SQLite (sqlite+aiosqlite://) and PostgreSQL (postgresql+asyncpg://)"
    )


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


class DatabaseSettings(ConfigModel):
    """Where data is kept; without ``url``, an SQLite file in the data directory (see ``database_url``)."""

    url: Annotated[str, AfterValidator(_check_database_url)] | None = None
    echo: bool = False


class LoggingSettings(ConfigModel):
    """How much the bot logs, and whether as plain lines or JSON for a log collector."""

    level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)] = "INFO"
    format: Annotated[Literal["plain", "json"], CASE_INSENSITIVE] = "plain"


class CirclesSettings(ConfigModel):
    """Limits for circles; a circle's own capacity may be set up to ``max_capacity``."""

    default_capacity: Annotated[int, Field(ge=2, le=500)] = 12
    max_capacity: Annotated[int, Field(ge=2, le=500)] = 50

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        if self.max_capacity < self.default_capacity:
            raise_rule_problems(
                [
                    (
                        ("max_capacity",),
                        f"{self.max_capacity} is below default_capacity "
                        f"({self.default_capacity}); it must be at least as large",
                    )
                ]
            )
        return self


class SchedulingSettings(ConfigModel):
    """Reminders and the tolerance for work that fell due while the bot was down."""

    reminder_offsets: list[PositiveDuration] = Field(
        default_factory=lambda: [timedelta(hours=24), timedelta(minutes=15)]
    )
    facilitator_notice: PositiveDuration = timedelta(hours=48)
    misfire_grace: PositiveDuration = timedelta(minutes=10)
    session_grace: PositiveDuration = timedelta(minutes=15)
    facilitator_monthly_cap: Annotated[int, Field(ge=1, le=31)] | None = None
    checkin_prompts: bool = True
    quiet_after: PositiveDuration = timedelta(weeks=3)

    @field_validator("reminder_offsets")
    @classmethod
    def _no_repeats(cls, offsets: list[timedelta]) -> list[timedelta]:
        seen: set[timedelta] = set()
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for index, offset in enumerate(offsets):
            if offset in seen:
                problems.append(((index,), "repeats an earlier reminder; each member would be reminded twice"))
            seen.add(offset)
        raise_rule_problems(problems)
        return offsets


class PrivacySettings(ConfigModel):
    """How long kept data lives before it is deleted. Message text is kept only when escalated."""

    escalated_text_retention: PositiveDuration = timedelta(days=30)
    audit_retention: PositiveDuration = timedelta(days=180)
    checkin_note_retention: PositiveDuration = timedelta(days=90)
    session_record_retention: PositiveDuration = timedelta(days=180)


class ObservabilitySettings(ConfigModel):
    """The optional local HTTP endpoint with /healthz and /metrics."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9464


class Settings(ConfigModel):
    """The whole configuration of one bot process."""

    data_dir: Path = Field(default=Path("data"), validate_default=True)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    platforms: PlatformsSettings = Field(default_factory=PlatformsSettings)
    communities: list[Community] = Field(default_factory=list)
    circles: CirclesSettings = Field(default_factory=CirclesSettings)
    safety: SafetySettings = Field(default_factory=SafetySettings)
    resources: list[Resource] = Field(default_factory=default_resources)
    scheduling: SchedulingSettings = Field(default_factory=SchedulingSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)

    @model_validator(mode="before")
    @classmethod
    def _default_console_community(cls, data: Any) -> Any:
        # With exactly one console community and no choice made, the console obviously belongs to it.
        if not isinstance(data, dict) or not isinstance(data.get("communities"), list):
            return data
        platforms = data.get("platforms") or {}
        console = (platforms.get("console") or {}) if isinstance(platforms, dict) else None
        if not isinstance(console, dict) or "community" in console:
            return data
        ids = [item.get("id") for item in data["communities"] if _is_console(item)]
        if len(ids) != 1 or not isinstance(ids[0], str):
            return data
        return {**data, "platforms": {**platforms, "console": {**console, "community": ids[0].strip()}}}

    @field_validator("data_dir")
    @classmethod
    def _resolve_data_dir(cls, value: Path, info: ValidationInfo) -> Path:
        # Relative to the config file, so the bot finds its data whatever directory it is started from.
        context = info.context if isinstance(info.context, dict) else {}
        base = context.get(BASE_DIR_CONTEXT)
        path = value.expanduser()
        if not path.is_absolute():
            path = (Path(base) if base is not None else Path.cwd()) / path
        return Path(os.path.normpath(path.absolute()))

    @field_validator("communities")
    @classmethod
    def _unique_communities(cls, communities: list[Community]) -> list[Community]:
        problems = duplicate_community_ids([community.id for community in communities])
        first_place: dict[tuple[Platform, str], int] = {}
        for index, community in enumerate(communities):
            for where, place in _places(community):
                earlier = first_place.setdefault((community.platform, place), index)
                if earlier != index:
                    problems.append(
                        (
                            (index, *where),
                            f"{place!r} already belongs to communities[{earlier}]; "
                            "a server, space or room can be in only one community",
                        )
                    )
        raise_rule_problems(problems)
        return communities

    @model_validator(mode="after")
    def _check_console_community(self) -> Self:
        console_ids = [c.id for c in self.communities if c.platform is Platform.CONSOLE]
        wanted = self.platforms.console.community
        if console_ids and wanted not in console_ids:
            # Otherwise the console would quietly run a community of its own with none of these settings.
            which = "(the default) " if "community" not in self.platforms.console.model_fields_set else ""
            raise_rule_problems(
                [
                    (
                        ("platforms", "console", "community"),
                        f"{wanted!r} {which}is not the id of a console community; set it to one of: "
                        f"{', '.join(console_ids)}",
                    )
                ]
            )
        return self

    def database_url(self) -> str:
        """The SQLAlchemy URL to use: ``database.url``, or the SQLite file ``peer-circles.db`` in data_dir."""
        if self.database.url is not None:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'peer-circles.db').as_posix()}"

    def console_enabled(self) -> bool:
        """Whether the console runs: as configured, or (left empty) when neither Discord nor Matrix is on."""
        configured = self.platforms.console.enabled
        if configured is not None:
            return configured
        return not (self.platforms.discord.enabled or self.platforms.matrix.enabled)

    def platform_enabled(self, platform: Platform) -> bool:
        """Whether the bot connects to ``platform`` in this configuration."""
        if platform is Platform.CONSOLE:
            return self.console_enabled()
        if platform is Platform.DISCORD:
            return self.platforms.discord.enabled
        return self.platforms.matrix.enabled

    def community(self, community_id: str) -> Community | None:
        """The community with this configured id, if any."""
        return next((c for c in self.communities if c.id == community_id), None)


def _is_console(item: Any) -> bool:
    return isinstance(item, dict) and str(item.get("platform", "")).strip().lower() == Platform.CONSOLE.value


def duplicate_community_ids(ids: Sequence[str | None]) -> list[tuple[tuple[str | int, ...], str]]:
    """A problem for each community id already used earlier in the list, located at its ``[index].id``."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    first: dict[str, int] = {}
    for index, community_id in enumerate(ids):
        if community_id is None:
            continue
        if community_id in first:
            problems.append(
                (
                    (index, "id"),
                    f"{community_id!r} is already the id of communities[{first[community_id]}]; "
                    "each community needs its own id",
                )
            )
        first.setdefault(community_id, index)
    return problems


def _places(community: Community) -> list[tuple[tuple[str | int, ...], str]]:
    # What ties a community to the platform; two communities claiming the same one would split its members.
    places: list[tuple[tuple[str | int, ...], str]] = []
    if community.guild_id:
        places.append((("guild_id",), community.guild_id))
    if community.space:
        places.append((("space",), community.space))
    places.extend((("rooms", index), room) for index, room in enumerate(community.rooms))
    return places
