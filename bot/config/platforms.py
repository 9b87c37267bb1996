"""The ``platforms`` section: which chat platforms the bot connects to, and how."""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, model_validator

from bot.config.fields import (
    CASE_INSENSITIVE,
    ConfigModel,
    Locale,
    Secret,
    check_matrix_user,
    check_slug,
    check_url,
    raise_rule_problems,
)

__all__ = ["ConsoleSettings", "DiscordSettings", "MatrixSettings", "PlatformsSettings"]

HttpUrl = Annotated[str, AfterValidator(partial(check_url, schemes=("http", "https")))]
WebSocketUrl = Annotated[str, AfterValidator(partial(check_url, schemes=("ws", "wss")))]

_PREFIX = re.compile(r"\S{1,3}")
_DEVICE_ID = re.compile(r"\S{1,64}")


def _check_prefix(value: str) -> str:
    if not _PREFIX.fullmatch(value):
        raise ValueError(f"{value!r} must be 1 to 3 characters without spaces, like ! or !!")
    return value


def _check_device_id(value: str) -> str:
    if not _DEVICE_ID.fullmatch(value):
        raise ValueError(f"{value!r} must be 1 to 64 characters without spaces")
    return value


class ConsoleSettings(ConfigModel):
    """The local text console, for trying the bot out and for tests.

    ``enabled`` left empty means "on when neither Discord nor Matrix is enabled"; see
    :meth:`bot.config.Settings.console_enabled`.
    """

    enabled: bool | None = None
    community: Annotated[str, AfterValidator(check_slug)] = "console"
    user: Annotated[str, Field(min_length=1, max_length=64)] = "you"
    locale: Locale = "en"


class DiscordSettings(ConfigModel):
    """Connection to Discord. ``api_base_url`` and ``gateway_url`` serve REST proxies and local emulators."""

    enabled: bool = False
    token: Secret | None = None
    api_base_url: HttpUrl | None = None
    gateway_url: WebSocketUrl | None = None
    sync_commands: Annotated[Literal["guild", "global"], CASE_INSENSITIVE] = "guild"
    message_content_intent: bool = False
    shard_ids: list[Annotated[int, Field(ge=0)]] | None = None
    shard_count: Annotated[int, Field(ge=1)] | None = None
    scheduled_events: bool = False
    """Publish each circle's next session as a Discord scheduled event (needs the Manage Events permission)."""
    scheduled_events_interval: Annotated[int, Field(ge=60, le=86_400)] = 300
    """Seconds between checks that every published event still matches the database."""
    automod_signal: bool = False
    """Scan what Discord's AutoMod blocked or flagged for crisis language too (needs the AutoMod execution intent)."""

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.enabled and self.token is None:
            problems.append(
                (
                    ("token",),
                    "is required when Discord is enabled: write ${DISCORD_TOKEN} and put the bot token "
                    "in that environment variable",
                )
            )
        if self.shard_ids is not None:
            if self.shard_count is None:
                problems.append((("shard_count",), "is required when shard_ids is set"))
            seen: set[int] = set()
            for index, shard in enumerate(self.shard_ids):
                if self.shard_count is not None and shard >= self.shard_count:
                    problems.append(
                        (
                            ("shard_ids", index),
                            f"shard {shard} does not exist: with shard_count "
                            f"{self.shard_count} the shards are 0 to {self.shard_count - 1}",
                        )
                    )
                if shard in seen:
                    problems.append((("shard_ids", index), f"shard {shard} is listed twice"))
                seen.add(shard)
        raise_rule_problems(problems)
        return self


ReactionAction = Literal["claim", "resolve"]


def _default_reactions() -> dict[str, ReactionAction]:
    return {"✋": "claim", "🙋": "claim", "👀": "claim", "✅": "resolve", "✔": "resolve"}


class MatrixSettings(ConfigModel):
    """Connection to a Matrix homeserver, signing in with an access token (preferred) or a password."""

    enabled: bool = False
    homeserver: HttpUrl | None = None
    user_id: Annotated[str, AfterValidator(check_matrix_user)] | None = None
    access_token: Secret | None = None
    password: Secret | None = None
    device_id: Annotated[str, AfterValidator(_check_device_id)] = "PEERCIRCLES"
    command_prefix: Annotated[str, AfterValidator(_check_prefix)] = "!"
    encryption: bool = False
    sessions_as: Annotated[Literal["room", "thread"], CASE_INSENSITIVE] = "room"
    alert_reactions: dict[str, ReactionAction] = Field(default_factory=_default_reactions)

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.enabled:
            if self.homeserver is None:
                problems.append(
                    (
                        ("homeserver",),
                        "is required when Matrix is enabled: the address of the bot's homeserver, "
                        "like https://matrix.org",
                    )
                )
            if self.user_id is None:
                problems.append(
                    (
                        ("user_id",),
                        "is required when Matrix is enabled: the bot's account, like @peer-circles:matrix.org",
                    )
                )
            if self.access_token is None and self.password is None:
                problems.append(
                    (
                        ("access_token",),
                        "is required when Matrix is enabled (or set password instead): write "
                        "${MATRIX_ACCESS_TOKEN} and put the token in that environment variable",
                    )
                )
        raise_rule_problems(problems)
        return self


class PlatformsSettings(ConfigModel):
    """All platforms; each is off unless enabled, except the console, which runs when nothing else is on."""

    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    matrix: MatrixSettings = Field(default_factory=MatrixSettings)
