"""Configuration: a YAML file, validated at start into frozen :class:`Settings`.

Load with :func:`load_config`; it raises :class:`ConfigError` listing every problem with its file, line and
key. Without a file, :func:`default_settings` runs the console with SQLite in ``./data``. :func:`summarize`
describes loaded settings for ``peer-circles check-config`` without revealing secrets.
"""

from bot.config.durations import format_duration, parse_duration
from bot.config.loader import default_settings, load_config
from bot.config.placeholders import EXAMPLE_PLACEHOLDERS, is_placeholder
from bot.config.problems import ConfigError, ConfigProblem
from bot.config.schema import (
    CirclesSettings,
    Community,
    ConsoleSettings,
    DatabaseSettings,
    DiscordSettings,
    LoggingSettings,
    MatrixSettings,
    ModeratorSettings,
    ObservabilitySettings,
    PhraseException,
    PhraseRule,
    PlatformsSettings,
    PowerLevels,
    PrivacySettings,
    Resource,
    RoleSettings,
    SafetySettings,
    SchedulingSettings,
    Settings,
)
from bot.config.summary import mask_url, summarize

__all__ = [
    "EXAMPLE_PLACEHOLDERS",
    "CirclesSettings",
    "Community",
    "ConfigError",
    "ConfigProblem",
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
    "default_settings",
    "format_duration",
    "is_placeholder",
    "load_config",
    "mask_url",
    "parse_duration",
    "summarize",
]
