"""A schedule's text forms: the readable line admins type, and the JSON kept in the database.

The readable form is a head and parts in any order after it::

    weekly tue,thu 19:00 Africa/Cairo 90m
    every 2 weeks wed 20:00 Europe/Berlin 1h30m until 2027-06-30
    monthly last fri 17:00 90m count 12 from 2026-12-01

Day names are English (``mon``, ``monday``) or Arabic (``الاثنين``, ``الإثنين``, ``اثنين``); times are 24-hour;
durations are ``45m``, ``1h30m``, ``2h``. Every error is a :class:`ScheduleError` carrying a message key, never text.
:func:`format_schedule` writes the canonical form, which :func:`parse_schedule` reads back to an equal schedule
(cancellations and moves are not part of the readable form: they are changed one occurrence at a time).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Final

from bot.circles.recurrence import Kind, Schedule, ScheduleError, timezone_names, unknown_timezone_error

__all__ = ["EXAMPLE", "format_schedule", "parse_schedule", "schedule_from_dict", "schedule_to_dict"]

EXAMPLE: Final = "weekly tue,thu 19:00 Africa/Cairo 90m"

_DAY_ABBR: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENGLISH_DAYS: Final = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip
# Arabic names after _fold_arabic (alef forms unified, ta marbuta as ha, "ال" removed), with the spellings people use:
# الاثنين/الإثنين/الأثنين, the Egyptian الاتنين and التلات, الأربعا without hamza, الحد for Sunday.
_ARABIC_DAYS: Final = {
    "اثنين": 0, "اتنين": 0,
    "ثلاثاء": 1, "ثلاثا": 1, "ثلاثه": 1, "تلات": 1, "تلاتاء": 1, "تلاتا": 1,
    "اربعاء": 2, "اربعا": 2, "اربع": 2,
    "خميس": 3,
    "جمعه": 4,
    "سبت": 5,
    "احد": 6, "حد": 6,
}  # fmt: skip
_ORDINALS: Final = {
    "1st": 1, "first": 1, "2nd": 2, "second": 2, "3rd": 3, "third": 3, "4th": 4, "fourth": 4, "last": -1,
    "اول": 1, "ثاني": 2, "ثالث": 3, "رابع": 4, "اخر": -1, "اخير": -1,
}  # fmt: skip
_ORDINAL_TEXT: Final = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}
# Words that may sit before a day name without meaning anything: "and", Arabic "and", Arabic "day (of)".
_FILLERS: Final = frozenset({"and", "و", "يوم"})
_UNITS: Final[Mapping[str, Kind]] = {"week": "weekly", "weeks": "weekly", "month": "monthly", "months": "monthly"}
_KEYWORDS: Final = frozenset({"until", "count", "from"})

# Bounded so int() never meets a huge string (Python refuses to convert over 4,300 digits).
_NUMBER = re.compile(r"[0-9]{1,6}")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DURATION = re.compile(r"(?:(\d{1,3})h)?(?:(\d{1,4})(?:m|min))?")
_DURATION_LIKE = re.compile(r"\d[\dhm]*(?:min)?")
_ORDINAL_LIKE = re.compile(r"\d+(?:st|nd|rd|th)|fifth|خامس")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Arabic-Indic and Eastern Arabic-Indic digits, which an Arabic keyboard types; NFKC leaves them alone.
_DIGITS: Final = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_ARABIC_FOLD: Final = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ـ": None})
_HARAKAT = re.compile("[\u064b-\u0652\u0670]")


def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).translate(_DIGITS).replace("،", ",")
    return [token for token in re.split(r"[\s,]+", text) if token]


def _fold_arabic(word: str) -> str:
    word = _HARAKAT.sub("", word).translate(_ARABIC_FOLD)
    return word[2:] if word.startswith("ال") and len(word) > 3 else word


def _day(token: str) -> int | None:
    """The weekday a token names (Monday is 0), or None."""
    word = token.casefold()
    if word in _ENGLISH_DAYS:
        return _ENGLISH_DAYS[word]
    if word.endswith("s") and word[:-1] in _ENGLISH_DAYS and len(word) > 4:  # "mondays"
        return _ENGLISH_DAYS[word[:-1]]
    folded = _fold_arabic(word)
    if folded in _ARABIC_DAYS:
        return _ARABIC_DAYS[folded]
    # "والخميس": the Arabic "and" is written joined to the next word.
    if folded.startswith("و") and _fold_arabic(folded[1:]) in _ARABIC_DAYS:
        return _ARABIC_DAYS[_fold_arabic(folded[1:])]
    return None


def _ordinal(token: str) -> int | None:
    word = token.casefold()
    return _ORDINALS.get(word, _ORDINALS.get(_fold_arabic(word)))


def _timezone(token: str) -> str | None:
    return timezone_names().get(token.casefold())


def _looks_like_timezone(token: str) -> bool:
    if "/" in token:
        return True
    folded = token.casefold()
    return any(name.rsplit("/", 1)[-1] == folded for name in timezone_names())


def _parse_time(token: str) -> time:
    match = _TIME.fullmatch(token)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ScheduleError("schedule.error.bad_time", value=token)
    return time(int(match[1]), int(match[2]))


def _parse_date(token: str) -> date:
    if _DATE.fullmatch(token):
        try:
            return date.fromisoformat(token)
        except ValueError:
            pass
    raise ScheduleError("schedule.error.bad_date", value=token)


class _Parts:
    """What the parser has read so far; each part may be given once."""

    def __init__(self) -> None:
        self.days: list[int] = []
        self.nth: int | None = None
        self.start: time | None = None
        self.zone: str | None = None
        self.duration: timedelta | None = None
        self.until: date | None = None
        self.count: int | None = None
        self.anchor: date | None = None

    def put(self, name: str, value: object, token: str) -> None:
        if getattr(self, name) is not None:
            raise ScheduleError("schedule.error.repeated", word=token)
        setattr(self, name, value)


def _head(tokens: list[str]) -> tuple[Kind, int, int]:
    """The kind, interval, and how many tokens the head used."""
    first = tokens[0].casefold()
    if first in ("weekly", "monthly"):
        return ("weekly" if first == "weekly" else "monthly"), 1, 1
    if first != "every":
        raise ScheduleError("schedule.error.bad_kind", word=tokens[0], example=EXAMPLE)
    rest = [token.casefold() for token in tokens[1:3]]
    if rest and rest[0] in _UNITS:  # "every week"
        return _UNITS[rest[0]], 1, 2
    if not rest or not (_NUMBER.fullmatch(rest[0]) or rest[0] == "other"):
        raise ScheduleError("schedule.error.bad_interval", value=tokens[1] if rest else "")
    if len(rest) < 2 or rest[1] not in _UNITS:
        raise ScheduleError("schedule.error.bad_unit", word=tokens[2] if len(rest) > 1 else "")
    interval = 2 if rest[0] == "other" else int(rest[0])
    return _UNITS[rest[1]], interval, 3


def _read_keyword(parts: _Parts, word: str, token: str, value: str | None) -> None:
    if value is None:
        raise ScheduleError("schedule.error.missing_value", word=token)
    if word == "count":
        if not _NUMBER.fullmatch(value):
            raise ScheduleError("schedule.error.bad_count", value=value)
        parts.put("count", int(value), token)
    else:
        parts.put("until" if word == "until" else "anchor", _parse_date(value), token)


def _read_part(parts: _Parts, kind: Kind, token: str) -> None:
    """Read one token that is not a keyword, or raise the error that best explains it."""
    if (day := _day(token)) is not None:
        if day in parts.days:
            raise ScheduleError("schedule.error.duplicate_weekday", day=token)
        parts.days.append(day)
    elif (nth := _ordinal(token)) is not None:
        if kind == "weekly":
            raise ScheduleError("schedule.error.nth_weekly", word=token)
        parts.put("nth", nth, token)
    elif _ORDINAL_LIKE.fullmatch(token.casefold()):
        raise ScheduleError("schedule.error.bad_nth", value=token)
    elif ":" in token and token[0].isdigit():
        parts.put("start", _parse_time(token), token)
    elif _DURATION_LIKE.fullmatch(token.casefold()):
        match = _DURATION.fullmatch(token.casefold())
        if match is None or not (match[1] or match[2]):
            raise ScheduleError("schedule.error.bad_duration", value=token)
        parts.put("duration", timedelta(hours=int(match[1] or 0), minutes=int(match[2] or 0)), token)
    elif (zone := _timezone(token)) is not None:
        parts.put("zone", zone, token)
    elif _looks_like_timezone(token):
        raise unknown_timezone_error(token)
    else:
        raise ScheduleError("schedule.error.unexpected", word=token)


def parse_schedule(text: str, *, default_timezone: str, today: date) -> Schedule:
    """Read the readable form; the zone defaults to ``default_timezone`` and the start (``from``) to ``today``."""
    tokens = _tokens(text)
    if not tokens:
        raise ScheduleError("schedule.error.empty", example=EXAMPLE)
    kind, interval, position = _head(tokens)
    parts = _Parts()
    while position < len(tokens):
        token = tokens[position]
        word = token.casefold()
        if word in _KEYWORDS:
            value = tokens[position + 1] if position + 1 < len(tokens) else None
            _read_keyword(parts, word, token, value)
            position += 2
            continue
        following = tokens[position + 1] if position + 1 < len(tokens) else ""
        if word not in _FILLERS or _day(following) is None:
            _read_part(parts, kind, token)
        position += 1
    if parts.start is None:
        raise ScheduleError("schedule.error.missing_time")
    if parts.duration is None:
        raise ScheduleError("schedule.error.missing_duration")
    if not parts.days:
        raise ScheduleError("schedule.error.no_weekday")
    if kind == "monthly":
        if len(parts.days) > 1:
            raise ScheduleError("schedule.error.monthly_one_day")
        if parts.nth is None:
            raise ScheduleError("schedule.error.missing_nth")
    return Schedule(
        kind=kind,
        interval=interval,
        weekdays=tuple(parts.days) if kind == "weekly" else (),
        nth=parts.nth,
        weekday=parts.days[0] if kind == "monthly" else None,
        start_time=parts.start,
        # The default comes from configuration; it is matched without regard to case like a typed one.
        timezone=parts.zone or _timezone(default_timezone) or default_timezone,
        duration=parts.duration,
        anchor=parts.anchor or today,
        until=parts.until,
        count=parts.count,
    )


def _format_duration(duration: timedelta) -> str:
    hours, minutes = divmod(duration // timedelta(minutes=1), 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")


def format_schedule(schedule: Schedule) -> str:
    """The canonical readable form, with every part spelled out (zone and ``from`` included)."""
    unit = "weeks" if schedule.kind == "weekly" else "months"
    parts = [schedule.kind if schedule.interval == 1 else f"every {schedule.interval} {unit}"]
    if schedule.kind == "weekly":
        parts.append(",".join(_DAY_ABBR[day] for day in schedule.weekdays))
    else:
        assert schedule.nth is not None  # guaranteed for a monthly schedule
        assert schedule.weekday is not None
        parts += [_ORDINAL_TEXT[schedule.nth], _DAY_ABBR[schedule.weekday]]
    parts += [schedule.start_time.strftime("%H:%M"), schedule.timezone, _format_duration(schedule.duration)]
    parts += ["from", schedule.anchor.isoformat()]
    if schedule.until is not None:
        parts += ["until", schedule.until.isoformat()]
    if schedule.count is not None:
        parts += ["count", str(schedule.count)]
    return " ".join(parts)


# Bumped when the stored form changes, so old rows can be told apart and migrated.
_FORMAT_VERSION: Final = 1
_FIELDS: Final = frozenset(
    {"version", "kind", "interval", "weekdays", "nth", "weekday", "start_time", "timezone", "duration_minutes",
     "anchor", "until", "count", "cancelled", "moved"}
)  # fmt: skip


def schedule_to_dict(schedule: Schedule) -> dict[str, object]:
    """The JSON-safe stored form (also :meth:`Schedule.to_dict`); instants are ISO 8601 in UTC."""
    return {
        "version": _FORMAT_VERSION,
        "kind": schedule.kind,
        "interval": schedule.interval,
        "weekdays": list(schedule.weekdays),
        "nth": schedule.nth,
        "weekday": schedule.weekday,
        "start_time": schedule.start_time.strftime("%H:%M"),
        "timezone": schedule.timezone,
        "duration_minutes": schedule.duration // timedelta(minutes=1),
        "anchor": schedule.anchor.isoformat(),
        "until": None if schedule.until is None else schedule.until.isoformat(),
        "count": schedule.count,
        "cancelled": [start.isoformat() for start in sorted(schedule.cancelled)],
        "moved": {old.isoformat(): new.isoformat() for old, new in schedule.moved.items()},
    }


def _bad(name: str) -> ScheduleError:
    return ScheduleError("schedule.error.bad_field", field=name)


def _int(data: Mapping[str, object], name: str) -> int:
    value = data.get(name)
    # bool is an int subclass; a stored true must not read as 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(name)
    return value


def _optional_int(data: Mapping[str, object], name: str) -> int | None:
    return None if data.get(name) is None else _int(data, name)


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise _bad(name)
    return value


def _stored_date(value: object, name: str) -> date:
    try:
        return date.fromisoformat(_text(value, name))
    except ValueError:
        raise _bad(name) from None


def _stored_instant(value: object, name: str) -> datetime:
    # Naive values pass here and are refused by Schedule, which requires aware instants.
    try:
        return datetime.fromisoformat(_text(value, name))
    except ValueError:
        raise _bad(name) from None


def schedule_from_dict(data: Mapping[str, object]) -> Schedule:
    """Read :meth:`Schedule.to_dict` output back, refusing unknown keys, wrong types and invalid values."""
    if not isinstance(data, Mapping):
        raise _bad("schedule")
    for name in data:
        if name not in _FIELDS:
            raise _bad(str(name))
    if data.get("version") != _FORMAT_VERSION:
        raise _bad("version")
    kind = data.get("kind")
    if kind != "weekly" and kind != "monthly":  # spelled out so the type checker narrows to Kind
        raise _bad("kind")
    weekdays, cancelled, moved = data.get("weekdays"), data.get("cancelled"), data.get("moved")
    if not isinstance(weekdays, list):
        raise _bad("weekdays")
    if not isinstance(cancelled, list):
        raise _bad("cancelled")
    if not isinstance(moved, dict):
        raise _bad("moved")
    try:
        start_time = time.fromisoformat(_text(data.get("start_time"), "start_time"))
    except ValueError:
        raise _bad("start_time") from None
    try:
        duration = timedelta(minutes=_int(data, "duration_minutes"))
    except OverflowError:
        raise _bad("duration_minutes") from None
    until = data.get("until")
    return Schedule(
        kind=kind,
        interval=_int(data, "interval"),
        weekdays=tuple(weekdays),
        nth=_optional_int(data, "nth"),
        weekday=_optional_int(data, "weekday"),
        start_time=start_time,
        timezone=_text(data.get("timezone"), "timezone"),
        duration=duration,
        anchor=_stored_date(data.get("anchor"), "anchor"),
        until=None if until is None else _stored_date(until, "until"),
        count=_optional_int(data, "count"),
        cancelled=frozenset(_stored_instant(start, "cancelled") for start in cancelled),
        moved={_stored_instant(old, "moved"): _stored_instant(new, "moved") for old, new in moved.items()},
    )
