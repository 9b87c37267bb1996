"""Field types and checks shared by the configuration sections.

Every check raises ``ValueError`` with a sentence for the server owner; the loader puts the file, line and key
in front of it. Messages quote the offending value only where it cannot be a secret.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any, Literal, NoReturn
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer, SecretStr
from pydantic_core import PydanticCustomError

from bot.config.durations import format_duration, parse_duration

__all__ = [
    "CASE_INSENSITIVE",
    "RULES_ERROR",
    "ConfigModel",
    "Duration",
    "Language",
    "Locale",
    "PositiveDuration",
    "Secret",
    "check_country",
    "check_matrix_room",
    "check_matrix_user",
    "check_slug",
    "check_snowflake",
    "check_timezone",
    "check_url",
    "is_matrix_room",
    "is_matrix_user",
    "is_snowflake",
    "raise_rule_problems",
]

# The error type the loader expands into several problems, each under its own key (see raise_rule_problems).
RULES_ERROR = "peer_circles_rules"

_SNOWFLAKE = re.compile(r"[0-9]{17,20}")  # not \d: it also matches "١٢٣", which int() reads as 123
_MATRIX_USER = re.compile(r"@[^\s:]+:[^\s:]+(:\d+)?")
# Room versions up to 11 have "!opaque:server"; version 12 (Synapse's default since 1.136) drops the server part.
_MATRIX_ROOM_ID = re.compile(r"![^\s:]+:[^\s:]+(:\d+)?|![A-Za-z0-9_-]{43}")
_MATRIX_ALIAS = re.compile(r"#[^\s:]+:[^\s:]+(:\d+)?")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

# Codes people reach for that ISO 3166-1 spells differently.
_COUNTRY_HINTS = {"UK": "GB", "EL": "GR", "KSA": "SA", "UAE": "AE"}


class ConfigModel(BaseModel):
    """Base of every configuration section: unknown keys are errors, and a loaded section never changes."""

    # Numbers are accepted where text is expected because YAML reads an unquoted Discord id as a number.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, str_strip_whitespace=True)


def raise_rule_problems(problems: Sequence[tuple[tuple[str | int, ...], str]]) -> None:
    """Raise every broken cross-field rule of one section at once, each under its own key.

    Pydantic reports a model validator's error at the section itself; the loader reads ``problems`` from this
    error's context and names each key instead (``platforms.matrix.user_id``, not ``platforms.matrix``).
    """
    if problems:
        summary = "; ".join(f"{'.'.join(map(str, where))}: {message}" for where, message in problems)
        raise PydanticCustomError(RULES_ERROR, "{summary}", {"summary": summary, "problems": list(problems)})


def _casefold(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


# Put in front of a Literal so that "EN" or " Discord " is read as "en" or "discord".
CASE_INSENSITIVE = BeforeValidator(_casefold)

Locale = Annotated[Literal["en", "ar"], CASE_INSENSITIVE]
Language = Locale


def _to_timedelta(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("expected a duration such as 90m, 24h or 30d")
    return parse_duration(str(value))


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than zero")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_timedelta),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]


def _strip_secret(value: Any) -> Any:
    # Tokens pasted into environment files often carry a trailing newline or space.
    return value.strip() if isinstance(value, str) else value


def _non_empty_secret(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise ValueError("is empty; put the secret in an environment variable and write ${VARIABLE_NAME} here")
    return value


Secret = Annotated[SecretStr, BeforeValidator(_strip_secret), AfterValidator(_non_empty_secret)]


def is_snowflake(value: str) -> bool:
    """True for a Discord id: 17 to 20 digits."""
    return _SNOWFLAKE.fullmatch(value) is not None


def is_matrix_user(value: str) -> bool:
    """True for a Matrix user id such as ``@name:server``."""
    return _MATRIX_USER.fullmatch(value) is not None


def is_matrix_room(value: str, *, alias_ok: bool = True) -> bool:
    """True for a Matrix room id (``!id:server``) or, when ``alias_ok``, a room alias (``#name:server``)."""
    if _MATRIX_ROOM_ID.fullmatch(value):
        return True
    return alias_ok and _MATRIX_ALIAS.fullmatch(value) is not None


def _fail(message: str) -> NoReturn:
    raise ValueError(message)


def check_snowflake(value: str, what: str) -> str:
    """Accept a Discord id; ``what`` names it in the message ("a Discord server id")."""
    if not is_snowflake(value):
        _fail(f"{value!r} is not {what}: Discord ids are 17 to 20 digits (turn on Developer Mode, then Copy ID)")
    return value


def check_matrix_user(value: str) -> str:
    """Accept a Matrix user id."""
    if not is_matrix_user(value):
        _fail(f"{value!r} is not a Matrix user id; it looks like @name:example.org")
    return value


def check_matrix_room(value: str, *, alias_ok: bool = True) -> str:
    """Accept a Matrix room id, or an alias when ``alias_ok``."""
    if not is_matrix_room(value, alias_ok=alias_ok):
        if alias_ok:
            _fail(
                f"{value!r} is not a Matrix room; write a room id like !abc123:example.org "
                "or an alias like #room:example.org"
            )
        _fail(
            f"{value!r} is not a Matrix room id; it looks like !abc123:example.org "
            "(Room settings, Advanced, Internal room ID)"
        )
    return value


def check_url(value: str, schemes: Sequence[str]) -> str:
    """Accept an absolute URL whose scheme is one of ``schemes`` and which names a host."""
    parts = urlsplit(value)
    wanted = " or ".join(f"{scheme}://" for scheme in schemes)
    if parts.scheme.lower() not in schemes or not parts.netloc:
        _fail(f"{value!r} is not a web address starting with {wanted}")
    return value


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(name: str) -> str:
    """Accept an IANA timezone name (``Europe/Berlin``) known to this machine's tz database."""
    known = True
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        known = False
    # ZoneInfo also opens files such as "posixrules" that are not zone names; only listed names are portable.
    if known and name in _zones():
        return name
    by_case = {zone.lower(): zone for zone in _zones()}
    close = [by_case[name.lower()]] if name.lower() in by_case else difflib.get_close_matches(name, _zones(), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    _fail(f"{name!r} is not a known IANA timezone ({hint}names look like Europe/Berlin, Africa/Cairo, UTC)")


def check_country(code: str, *, allow_any: bool = False) -> str:
    """Accept an ISO 3166-1 alpha-2 country code, returned upper-case; ``*`` too when ``allow_any``."""
    if allow_any and code == "*":
        return code
    upper = code.upper()
    if upper in _COUNTRY_HINTS:
        _fail(f"{code!r} is not an ISO 3166-1 country code; use {_COUNTRY_HINTS[upper]!r}")
    if not _COUNTRY.fullmatch(code):
        extra = ", or '*' for every country" if allow_any else ""
        _fail(f"{code!r} is not a two-letter ISO 3166-1 country code (like US, GB, EG){extra}")
    return upper


def check_slug(value: str) -> str:
    """Accept a short name for URLs and commands: lower-case letters, digits and dashes, up to 63 long."""
    if not _SLUG.fullmatch(value):
        _fail(
            f"{value!r} is not a valid id: use lower-case letters, digits and dashes (like evening-circle), "
            "starting with a letter or digit, at most 63 characters"
        )
    return value
