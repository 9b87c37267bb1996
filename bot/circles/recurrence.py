"""Recurring circle schedules: the rule, its one-off exceptions, and the occurrences they yield.

Pure: no storage, no clock, no scheduler. The database keeps a :class:`Schedule` as :meth:`Schedule.to_dict` in a
JSON column; the scheduler asks :func:`next_occurrence` for the next due time.

Semantics, decided once here:

- **Wall clock.** Occurrences are computed on local dates in the schedule's own IANA zone, so a 19:00 circle stays at
  19:00 local on both sides of a daylight-saving change while its UTC offset moves.
- **Gaps and folds.** A local start that does not exist (the spring-forward gap, e.g. 02:30 on the change day) is read
  with the UTC offset in force *before* the gap, which lands the same distance *after* the gap (02:30 becomes 03:30).
  That is PEP 495's ``fold=0`` and RFC 5545's rule, so calendar exports agree. An ambiguous start (the fall-back hour)
  takes the first of its two instants (also ``fold=0``).
- **Series start.** No occurrence falls before ``anchor``. Weeks of an every-N-weeks series count from the Monday of
  the anchor's week; months of an every-N-months series count from the anchor's month.
- **End.** ``until`` is an inclusive local date. ``count`` counts *original* occurrences, cancelled and moved ones
  included (as iCalendar's COUNT with EXDATE does), so cancelling a session never extends the series.
- **Exceptions.** ``cancelled`` and ``moved`` are keyed by the original start in UTC. A moved occurrence appears at its
  new time (even past the series end) and keeps its original start as its identity, which is what an idempotency
  key should use. An exception whose original start is not an occurrence of the rule is ignored.
"""

from __future__ import annotations

import calendar
import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, cached_property
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo, available_timezones

from bot.errors import UserError

__all__ = [
    "MAX_COUNT",
    "MAX_DURATION",
    "MAX_INTERVAL",
    "Kind",
    "Occurrence",
    "Schedule",
    "ScheduleError",
    "next_occurrence",
    "occurrences",
    "timezone_names",
    "unknown_timezone_error",
]

Kind = Literal["weekly", "monthly"]
MAX_DURATION: Final = timedelta(hours=12)
# Bounds that keep every date the arithmetic reaches inside datetime's range (year 9999) with room to spare.
MAX_INTERVAL: Final[Mapping[str, int]] = {"weekly": 52, "monthly": 12}
MAX_COUNT: Final = 1000
_NTHS: Final = frozenset({1, 2, 3, 4, -1})
# Entries of the tz database that are not places: "localtime" is whatever the host is set to.
_NOT_ZONES: Final = frozenset({"localtime", "Factory", "posixrules"})


class ScheduleError(UserError):
    """A schedule is invalid; ``key`` names the translated message and ``params`` fill its placeholders."""


@cache
def timezone_names() -> Mapping[str, str]:
    """IANA zone names known on this machine, by case-folded name (``"europe/berlin"`` -> ``"Europe/Berlin"``)."""
    return {name.casefold(): name for name in available_timezones() - _NOT_ZONES}


@cache
def _zone_set() -> frozenset[str]:
    # A set, not the mapping's values view, whose membership test is a linear scan of ~600 names.
    return frozenset(timezone_names().values())


def unknown_timezone_error(name: str) -> ScheduleError:
    """The error for an unknown zone, with the closest real name when one is near enough to be a likely typo."""
    names = timezone_names()
    folded = name.casefold()
    # People often get the region wrong or leave it out ("Europe/Cairo", "new_york"): a matching city wins first.
    cities: dict[str, str] = {}
    for key in sorted(names):
        cities.setdefault(key.rsplit("/", 1)[-1], key)
    city = folded.rsplit("/", 1)[-1]
    close = [cities[city]] if city in cities else difflib.get_close_matches(folded, list(names), n=1, cutoff=0.6)
    if not close:
        close = [cities[match] for match in difflib.get_close_matches(city, list(cities), n=1, cutoff=0.75)]
    if close:
        return ScheduleError("schedule.error.unknown_timezone_suggest", timezone=name, suggestion=names[close[0]])
    return ScheduleError("schedule.error.unknown_timezone", timezone=name)


def _bad(field_name: str) -> ScheduleError:
    return ScheduleError("schedule.error.bad_field", field=field_name)


def _utc(value: object, field_name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise _bad(field_name)
    return value.astimezone(UTC)


class _FrozenMap(Mapping[datetime, datetime]):
    """A read-only, hashable mapping, so a frozen :class:`Schedule` stays hashable and cannot be changed in place."""

    def __init__(self, items: Mapping[datetime, datetime] | None = None) -> None:
        self._data: dict[datetime, datetime] = dict(sorted((items or {}).items()))

    def __getitem__(self, key: datetime) -> datetime:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        # Mapping's default goes through __getitem__ and an exception; this is on the hot path of occurrences().
        return key in self._data

    def __iter__(self) -> Iterator[datetime]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return repr(self._data)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One session of a series: its effective start and end, and the start the rule gave it (its identity)."""

    start: datetime
    end: datetime
    original_start: datetime
    moved: bool


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A circle's recurrence rule in its own zone, with one-off cancellations and moves.

    Weekly schedules use ``weekdays`` (Monday is 0; stored sorted); monthly ones use ``nth`` (1 to 4, or -1 for the
    last) and ``weekday``. ``interval`` is every N weeks or every N months. Construction validates every field and
    raises :class:`ScheduleError`; aware datetimes in ``cancelled`` and ``moved`` are normalised to UTC.
    """

    kind: Kind
    start_time: time
    timezone: str
    duration: timedelta
    anchor: date
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    nth: int | None = None
    weekday: int | None = None
    until: date | None = None
    count: int | None = None
    cancelled: frozenset[datetime] = frozenset()
    moved: Mapping[datetime, datetime] = field(default_factory=_FrozenMap)

    def __post_init__(self) -> None:
        if self.kind not in get_args(Kind):
            raise _bad("kind")
        _check_int(self.interval, "interval")
        if not 1 <= self.interval <= MAX_INTERVAL[self.kind]:
            raise ScheduleError("schedule.error.interval_range", low=1, high=MAX_INTERVAL[self.kind])
        if self.kind == "weekly":
            self._check_weekly()
        else:
            self._check_monthly()
        if not isinstance(self.start_time, time) or self.start_time.tzinfo is not None:
            raise _bad("start_time")
        if self.start_time.second or self.start_time.microsecond or self.start_time.fold:
            raise _bad("start_time")
        if not isinstance(self.timezone, str):
            raise _bad("timezone")
        if self.timezone not in _zone_set():
            raise unknown_timezone_error(self.timezone)
        if not isinstance(self.duration, timedelta) or self.duration % timedelta(minutes=1):
            raise _bad("duration")
        if not timedelta(0) < self.duration <= MAX_DURATION:
            raise ScheduleError("schedule.error.duration_range", max_hours=MAX_DURATION // timedelta(hours=1))
        self._check_end()
        self._normalise_exceptions()

    def _check_weekly(self) -> None:
        if self.nth is not None or self.weekday is not None:
            raise _bad("weekday")
        if not isinstance(self.weekdays, Iterable):
            raise _bad("weekdays")
        days = tuple(self.weekdays)
        for day in days:
            _check_int(day, "weekdays")
            if not 0 <= day <= 6:
                raise _bad("weekdays")
        if not days:
            raise ScheduleError("schedule.error.no_weekday")
        if len(set(days)) != len(days):
            raise _bad("weekdays")
        object.__setattr__(self, "weekdays", tuple(sorted(days)))

    def _check_monthly(self) -> None:
        if self.weekdays:
            raise _bad("weekdays")
        if self.weekday is None:
            raise ScheduleError("schedule.error.no_weekday")
        _check_int(self.weekday, "weekday")
        if not 0 <= self.weekday <= 6:
            raise _bad("weekday")
        if self.nth is None:
            raise ScheduleError("schedule.error.missing_nth")
        _check_int(self.nth, "nth")
        if self.nth not in _NTHS:
            raise ScheduleError("schedule.error.bad_nth", value=self.nth)

    def _check_end(self) -> None:
        # datetime is a date subclass; a datetime here would compare wrongly with the dates the rule produces.
        if not isinstance(self.anchor, date) or isinstance(self.anchor, datetime):
            raise _bad("anchor")
        if self.until is not None:
            if not isinstance(self.until, date) or isinstance(self.until, datetime):
                raise _bad("until")
            if self.until < self.anchor:
                raise ScheduleError(
                    "schedule.error.until_before_anchor", until=self.until.isoformat(), anchor=self.anchor.isoformat()
                )
        if self.count is not None:
            _check_int(self.count, "count")
            if not 1 <= self.count <= MAX_COUNT:
                raise ScheduleError("schedule.error.count_range", value=self.count, low=1, high=MAX_COUNT)
        if self.until is not None and self.count is not None:
            raise ScheduleError("schedule.error.until_and_count")

    def _normalise_exceptions(self) -> None:
        if not isinstance(self.cancelled, Iterable):
            raise _bad("cancelled")
        cancelled = frozenset(_utc(start, "cancelled") for start in self.cancelled)
        if not isinstance(self.moved, Mapping):
            raise _bad("moved")
        moved = _FrozenMap({_utc(old, "moved"): _utc(new, "moved") for old, new in self.moved.items()})
        if not cancelled.isdisjoint(moved):
            # One occurrence cannot be both cancelled and moved; cancel() and move() keep the two apart.
            raise _bad("moved")
        object.__setattr__(self, "cancelled", cancelled)
        object.__setattr__(self, "moved", moved)

    @cached_property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.timezone)

    @cached_property
    def last_date(self) -> date | None:
        """The local date of the last original occurrence, or None for an open-ended series."""
        if self.count is None:
            return self.until
        if self.kind == "weekly":
            first_week = [day for day in self.weekdays if day >= self.anchor.weekday()]
            index = self.count - 1
            if index < len(first_week):
                return _monday(self.anchor) + timedelta(days=first_week[index])
            block, position = divmod(index - len(first_week), len(self.weekdays))
            return _monday(self.anchor) + timedelta(weeks=(block + 1) * self.interval, days=self.weekdays[position])
        first_month = _month_index(self.anchor)
        skip = 0 if self._monthly_date(first_month) >= self.anchor else 1
        return self._monthly_date(first_month + (self.count - 1 + skip) * self.interval)

    def _monthly_date(self, month: int) -> date:
        # Validation guarantees both for a monthly schedule.
        assert self.nth is not None
        assert self.weekday is not None
        year, month0 = divmod(month, 12)
        if self.nth > 0:
            first = date(year, month0 + 1, 1)
            return first + timedelta(days=(self.weekday - first.weekday()) % 7 + 7 * (self.nth - 1))
        last = date(year, month0 + 1, calendar.monthrange(year, month0 + 1)[1])
        return last - timedelta(days=(last.weekday() - self.weekday) % 7)

    def dates_from(self, start: date) -> Iterator[date]:
        """The local dates of original occurrences on or after ``start``, in order, up to the series end.

        Jumps straight to the right week or month, so the cost does not grow with the age of the series.
        """
        start = max(start, self.anchor)
        end = self.last_date
        try:
            if self.kind == "weekly":
                monday0 = _monday(self.anchor)
                week, from_day = divmod((start - monday0).days, 7)
                if week % self.interval:
                    week, from_day = week + self.interval - week % self.interval, 0
                while True:
                    monday = monday0 + timedelta(weeks=week)
                    for day in self.weekdays:
                        if day >= from_day:
                            current = monday + timedelta(days=day)
                            if end is not None and current > end:
                                return
                            yield current
                    from_day = 0
                    week += self.interval
            else:
                first = _month_index(self.anchor)
                offset = _month_index(start) - first
                month = first + offset + (-offset) % self.interval
                while True:
                    current = self._monthly_date(month)
                    if end is not None and current > end:
                        return
                    if current >= start:
                        yield current
                    month += self.interval
        except (OverflowError, ValueError):
            # Past year 9999: an open-ended series simply has no more dates to give.
            return

    def is_series_date(self, day: date) -> bool:
        """Whether the rule has an original occurrence on local date ``day``."""
        if day < self.anchor or (self.last_date is not None and day > self.last_date):
            return False
        if self.kind == "weekly":
            weeks = (day - _monday(self.anchor)).days // 7
            return day.weekday() in self.weekdays and weeks % self.interval == 0
        months = _month_index(day) - _month_index(self.anchor)
        return months % self.interval == 0 and self._monthly_date(_month_index(day)) == day

    def start_on(self, day: date) -> datetime:
        """The UTC start of the occurrence on local date ``day`` (gap and fold rules in the module docstring)."""
        # fold=0: in a gap this reads the wall time with the offset before it; in a fold it picks the first instant.
        return datetime.combine(day, self.start_time, tzinfo=self.zone).astimezone(UTC)

    def is_original(self, start: datetime) -> bool:
        """Whether ``start`` (aware) is the original start of one of the rule's occurrences."""
        start = _utc(start, "start")
        local_day = start.astimezone(self.zone).date()
        # A start pushed forward across a gap can land on the next local date, so look one day back too.
        return any(self.is_series_date(day) and self.start_on(day) == start for day in (local_day, _prev(local_day)))

    def cancel(self, original: datetime) -> Schedule:
        """This schedule with the occurrence that originally starts at ``original`` cancelled (a move is undone)."""
        original = self._require_original(original)
        moved = {old: new for old, new in self.moved.items() if old != original}
        return replace(self, cancelled=self.cancelled | {original}, moved=moved)

    def move(self, original: datetime, new_start: datetime) -> Schedule:
        """This schedule with one occurrence moved to ``new_start``; moving it back to its original time restores it."""
        original = self._require_original(original)
        new_start = _utc(new_start, "start")
        moved = {old: new for old, new in self.moved.items() if old != original}
        if new_start != original:
            moved[original] = new_start
        return replace(self, cancelled=self.cancelled - {original}, moved=moved)

    def restore(self, original: datetime) -> Schedule:
        """This schedule with any cancellation or move of that occurrence removed."""
        original = _utc(original, "start")
        moved = {old: new for old, new in self.moved.items() if old != original}
        return replace(self, cancelled=self.cancelled - {original}, moved=moved)

    def prune(self, before: datetime) -> Schedule:
        """This schedule without exceptions wholly in the past, so the stored column does not grow forever."""
        before = _utc(before, "before")
        cancelled = frozenset(start for start in self.cancelled if start >= before)
        moved = {old: new for old, new in self.moved.items() if old >= before or new >= before}
        return replace(self, cancelled=cancelled, moved=moved)

    def _require_original(self, start: datetime) -> datetime:
        start = _utc(start, "start")
        if not self.is_original(start):
            raise ScheduleError("schedule.error.not_an_occurrence", start=start)
        return start

    def to_dict(self) -> dict[str, object]:
        """A JSON-safe form for a database column; :meth:`from_dict` reads it back."""
        # Both directions of the stored format live together in schedule_text, which imports this module.
        from bot.circles.schedule_text import schedule_to_dict

        return schedule_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Schedule:
        """Read :meth:`to_dict` output, validating it; a bad value raises ``schedule.error.bad_field``."""
        from bot.circles.schedule_text import schedule_from_dict

        return schedule_from_dict(data)


def _check_int(value: object, field_name: str) -> None:
    # bool is an int subclass, and True must not pass for an interval of 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(field_name)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _prev(day: date) -> date:
    return day if day == date.min else day - timedelta(days=1)


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def occurrences(schedule: Schedule, after: datetime, limit: int) -> list[Occurrence]:
    """Up to ``limit`` occurrences whose effective start is strictly after ``after`` (aware), by effective start.

    Cancelled occurrences are skipped; moved ones appear at their new time with ``moved=True``.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("occurrences() needs an aware datetime")
    if limit <= 0:
        return []
    duration = schedule.duration
    cancelled = schedule.cancelled
    moved = schedule.moved
    found: list[Occurrence] = []
    # Start a local day early: an occurrence on the day before can fall after ``after`` once a gap pushes it forward.
    local_day = after.astimezone(schedule.zone).date()
    for day in schedule.dates_from(_prev(local_day)):
        start = schedule.start_on(day)
        if start <= after or start in cancelled or start in moved:
            continue
        found.append(Occurrence(start, start + duration, start, False))
        if len(found) >= limit:
            break
    if moved:
        for old, new in moved.items():
            if new > after and schedule.is_original(old):
                found.append(Occurrence(new, new + duration, old, True))
        found.sort(key=lambda occurrence: (occurrence.start, occurrence.original_start))
        del found[limit:]
    return found


def next_occurrence(schedule: Schedule, after: datetime) -> Occurrence | None:
    """The first occurrence starting strictly after ``after``, or None when the series has ended."""
    found = occurrences(schedule, after, 1)
    return found[0] if found else None
