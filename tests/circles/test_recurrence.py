"""Recurrence: wall-clock occurrences across DST changes, series bounds, exceptions, arithmetic jumps, stored form."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.circles import recurrence
from bot.circles.recurrence import Occurrence, Schedule, ScheduleError, next_occurrence, occurrences
from bot.errors import UserError


def weekly(days: tuple[int, ...], at: time, zone: str, **changes: Any) -> Schedule:
    values: dict[str, Any] = {"duration": timedelta(minutes=90), "anchor": date(2026, 1, 1), **changes}
    return Schedule(kind="weekly", weekdays=days, start_time=at, timezone=zone, **values)


def monthly(nth: int, day: int, at: time, zone: str = "UTC", **changes: Any) -> Schedule:
    values: dict[str, Any] = {"duration": timedelta(hours=2), "anchor": date(2026, 1, 1), **changes}
    return Schedule(kind="monthly", nth=nth, weekday=day, start_time=at, timezone=zone, **values)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def starts(schedule: Schedule, after: datetime, limit: int) -> list[datetime]:
    return [occurrence.start for occurrence in occurrences(schedule, after, limit)]


def local_starts(schedule: Schedule, after: datetime, limit: int) -> list[str]:
    return [start.astimezone(schedule.zone).isoformat() for start in starts(schedule, after, limit)]


MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


# --- wall clock across daylight-saving changes -------------------------------------------------------------------


def test_berlin_evening_circle_keeps_local_time_across_both_changes() -> None:
    circle = weekly((TUE,), time(19), "Europe/Berlin")
    spring = local_starts(circle, utc(2026, 3, 20), 2)
    assert spring == ["2026-03-24T19:00:00+01:00", "2026-03-31T19:00:00+02:00"]
    assert starts(circle, utc(2026, 3, 20), 2) == [utc(2026, 3, 24, 18), utc(2026, 3, 31, 17)]
    autumn = local_starts(circle, utc(2026, 10, 19), 2)
    assert autumn == ["2026-10-20T19:00:00+02:00", "2026-10-27T19:00:00+01:00"]


def test_new_york_circle_keeps_local_time_across_both_changes() -> None:
    circle = weekly((SAT, SUN), time(18, 30), "America/New_York")
    assert starts(circle, utc(2026, 3, 7), 2) == [utc(2026, 3, 7, 23, 30), utc(2026, 3, 8, 22, 30)]
    assert starts(circle, utc(2026, 10, 31), 2) == [utc(2026, 10, 31, 22, 30), utc(2026, 11, 1, 23, 30)]


def test_cairo_has_daylight_saving_again() -> None:
    circle = weekly((WED,), time(19), "Africa/Cairo")
    # Egypt moves to +03:00 on the last Friday of April and back after the last Thursday of October.
    assert starts(circle, utc(2026, 4, 20), 2) == [utc(2026, 4, 22, 17), utc(2026, 4, 29, 16)]
    assert starts(circle, utc(2026, 10, 26), 2) == [utc(2026, 10, 28, 16), utc(2026, 11, 4, 17)]


def test_zone_without_daylight_saving_never_moves() -> None:
    circle = weekly((MON,), time(19), "Asia/Riyadh")
    found = starts(circle, utc(2026, 1, 1), 52)
    assert len(found) == 52
    assert {start.time() for start in found} == {time(16)}


@pytest.mark.parametrize(
    ("zone", "day", "at", "after", "expected_utc", "expected_local"),
    [
        # Spring-forward gaps: the missing wall time is read with the offset before the gap, landing after it.
        ("Europe/Berlin", SUN, time(2, 30), utc(2026, 3, 28), utc(2026, 3, 29, 1, 30), "03:30"),
        ("America/New_York", SUN, time(2, 30), utc(2026, 3, 7), utc(2026, 3, 8, 7, 30), "03:30"),
        ("Africa/Cairo", FRI, time(0, 30), utc(2026, 4, 22), utc(2026, 4, 23, 22, 30), "01:30"),
        # Fall-back folds: the first of the two instants.
        ("Europe/Berlin", SUN, time(2, 30), utc(2026, 10, 24), utc(2026, 10, 25, 0, 30), "02:30"),
        ("America/New_York", SUN, time(1, 30), utc(2026, 10, 31), utc(2026, 11, 1, 5, 30), "01:30"),
        ("Africa/Cairo", THU, time(23, 30), utc(2026, 10, 28), utc(2026, 10, 29, 20, 30), "23:30"),
    ],
)
def test_gap_and_fold(
    zone: str, day: int, at: time, after: datetime, expected_utc: datetime, expected_local: str
) -> None:
    circle = weekly((day,), at, zone)
    found = next_occurrence(circle, after)
    assert found is not None
    assert found.start == expected_utc
    assert found.start.astimezone(ZoneInfo(zone)).strftime("%H:%M") == expected_local
    # The week after the change is back at the plain wall time.
    following = next_occurrence(circle, found.start)
    assert following is not None
    assert following.start.astimezone(ZoneInfo(zone)).time() == at


def test_gap_occurrence_is_found_from_just_before_it() -> None:
    circle = weekly((FRI,), time(0, 30), "Africa/Cairo")
    # 22:00Z is local 00:00 on the Friday, inside the gap; the occurrence is at 22:30Z (local 01:30).
    assert starts(circle, utc(2026, 4, 23, 22), 1) == [utc(2026, 4, 23, 22, 30)]
    assert starts(circle, utc(2026, 4, 23, 22, 30), 1) == [utc(2026, 4, 30, 21, 30)]


def test_end_is_start_plus_real_duration_across_a_change() -> None:
    circle = weekly((SAT,), time(23, 30), "America/New_York", duration=timedelta(hours=3))
    found = next_occurrence(circle, utc(2026, 10, 31))
    assert found is not None
    assert found.end - found.start == timedelta(hours=3)
    assert found.end.astimezone(circle.zone).strftime("%H:%M") == "01:30"


# --- series shape -------------------------------------------------------------------------------------------------


def test_strictly_after_and_sorted() -> None:
    circle = weekly((TUE, THU), time(19), "UTC", anchor=date(2026, 1, 1))
    first = starts(circle, utc(2026, 1, 1), 3)
    assert first == [utc(2026, 1, 1, 19), utc(2026, 1, 6, 19), utc(2026, 1, 8, 19)]
    assert starts(circle, first[0], 1) == [first[1]]
    assert starts(circle, first[0] - timedelta(microseconds=1), 1) == [first[0]]


def test_no_occurrence_before_the_anchor_and_weeks_count_from_its_week() -> None:
    # Anchor Wednesday 2026-12-02: Monday of that week is before the anchor, so every-2-weeks Monday starts on the 14th.
    circle = weekly((MON, FRI), time(10), "UTC", anchor=date(2026, 12, 2), interval=2)
    assert [start.date() for start in starts(circle, utc(2026, 1, 1), 4)] == [
        date(2026, 12, 4),
        date(2026, 12, 14),
        date(2026, 12, 18),
        date(2026, 12, 28),
    ]


def test_until_is_inclusive_local_date() -> None:
    circle = weekly((SAT,), time(23), "Asia/Riyadh", anchor=date(2026, 1, 1), until=date(2026, 1, 17))
    assert [start.astimezone(circle.zone).date() for start in starts(circle, utc(2026, 1, 1), 10)] == [
        date(2026, 1, 3),
        date(2026, 1, 10),
        date(2026, 1, 17),
    ]
    assert next_occurrence(circle, utc(2026, 1, 17, 20)) is None


def test_count_includes_cancelled_occurrences() -> None:
    circle = weekly((MON, THU), time(9), "UTC", anchor=date(2026, 1, 1), count=4)
    all_four = starts(circle, utc(2026, 1, 1), 10)
    assert [start.date() for start in all_four] == [
        date(2026, 1, 1),
        date(2026, 1, 5),
        date(2026, 1, 8),
        date(2026, 1, 12),
    ]
    assert circle.last_date == date(2026, 1, 12)
    # Cancelling one does not extend the series.
    assert starts(circle.cancel(all_four[1]), utc(2026, 1, 1), 10) == [all_four[0], all_four[2], all_four[3]]


def test_monthly_nth_and_last_weekday() -> None:
    first_saturday = monthly(1, SAT, time(10), "America/New_York")
    assert [start.date() for start in starts(first_saturday, utc(2026, 1, 1), 3)] == [
        date(2026, 1, 3),
        date(2026, 2, 7),
        date(2026, 3, 7),
    ]
    last_friday = monthly(-1, FRI, time(17), "UTC", anchor=date(2026, 1, 31), count=3)
    # January's last Friday (the 30th) is before the anchor, so the three are February to April.
    assert [start.date() for start in starts(last_friday, utc(2026, 1, 1), 10)] == [
        date(2026, 2, 27),
        date(2026, 3, 27),
        date(2026, 4, 24),
    ]
    fourth_thursday_every_3 = monthly(4, THU, time(12), "UTC", interval=3)
    assert [start.date() for start in starts(fourth_thursday_every_3, utc(2026, 1, 1), 3)] == [
        date(2026, 1, 22),
        date(2026, 4, 23),
        date(2026, 7, 23),
    ]


def test_limit_zero_and_naive_after() -> None:
    circle = weekly((MON,), time(9), "UTC")
    assert occurrences(circle, utc(2026, 1, 1), 0) == []
    with pytest.raises(ValueError, match="aware"):
        occurrences(circle, datetime(2026, 1, 1), 1)  # noqa: DTZ001 - the point of the test


def test_series_far_past_year_9999_ends_quietly() -> None:
    circle = weekly((MON,), time(9), "UTC")
    assert next_occurrence(circle, datetime(9999, 12, 31, tzinfo=UTC)) is None


# --- arithmetic jumps -----------------------------------------------------------------------------------------------


def test_old_series_jumps_to_the_right_week(monkeypatch: pytest.MonkeyPatch) -> None:
    circle = weekly((WED,), time(20), "Europe/Berlin", anchor=date(2011, 3, 16), interval=3)
    calls = 0
    real = Schedule.start_on

    def counting(self: Schedule, day: date) -> datetime:
        nonlocal calls
        calls += 1
        return real(self, day)

    monkeypatch.setattr(Schedule, "start_on", counting)
    found = next_occurrence(circle, utc(2026, 6, 1))
    assert found is not None
    # Fifteen years in, only a couple of candidate dates are converted, not thousands of days.
    assert calls <= 2
    weeks = (found.start.date() - date(2011, 3, 14)).days // 7
    assert weeks % 3 == 0
    assert found.start.date() - timedelta(weeks=3) < date(2026, 6, 1) <= found.start.date()


def reference_dates(schedule: Schedule, horizon: date) -> Iterator[date]:
    """Day by day, straight from the definition: the slow oracle the fast arithmetic is checked against."""
    day, produced = schedule.anchor, 0
    monday0 = schedule.anchor - timedelta(days=schedule.anchor.weekday())
    while day <= horizon:
        if schedule.kind == "weekly":
            hit = day.weekday() in schedule.weekdays and ((day - monday0).days // 7) % schedule.interval == 0
        else:
            months = (day.year - schedule.anchor.year) * 12 + day.month - schedule.anchor.month
            week_of_month = (day.day - 1) // 7 + 1
            is_last = (day + timedelta(days=7)).month != day.month
            hit = (
                months % schedule.interval == 0
                and day.weekday() == schedule.weekday
                and (week_of_month == schedule.nth or (schedule.nth == -1 and is_last))
            )
        if hit:
            if schedule.until is not None and day > schedule.until:
                return
            if schedule.count is not None and produced >= schedule.count:
                return
            produced += 1
            yield day
        day += timedelta(days=1)


# Hypothesis takes naive bounds and attaches the zone itself.
NAIVE_2023, NAIVE_2029 = datetime(2023, 6, 1), datetime(2029, 1, 1)  # noqa: DTZ001
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Africa/Cairo", "Asia/Riyadh", "Australia/Lord_Howe")


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    kind = draw(st.sampled_from(["weekly", "monthly"]))
    anchor = draw(st.dates(date(2024, 1, 1), date(2027, 12, 31)))
    end = draw(st.sampled_from(["none", "until", "count"]))
    common: dict[str, Any] = {
        "start_time": time(draw(st.integers(0, 23)), draw(st.integers(0, 59))),
        "timezone": draw(st.sampled_from(ZONES)),
        "duration": timedelta(minutes=draw(st.integers(1, 720))),
        "anchor": anchor,
        "until": anchor + timedelta(days=draw(st.integers(0, 800))) if end == "until" else None,
        "count": draw(st.integers(1, 40)) if end == "count" else None,
    }
    if kind == "weekly":
        days = tuple(draw(st.sets(st.integers(0, 6), min_size=1)))
        return Schedule(kind="weekly", weekdays=days, interval=draw(st.integers(1, 8)), **common)
    nth = draw(st.sampled_from([1, 2, 3, 4, -1]))
    return Schedule(
        kind="monthly", nth=nth, weekday=draw(st.integers(0, 6)), interval=draw(st.integers(1, 4)), **common
    )


@settings(max_examples=150, deadline=None)
@given(schedules(), st.datetimes(NAIVE_2023, NAIVE_2029, timezones=st.just(UTC)))
def test_matches_day_by_day_reference(schedule: Schedule, after: datetime) -> None:
    upcoming = [
        (day, start)
        for day, start in ((day, schedule.start_on(day)) for day in reference_dates(schedule, date(2033, 1, 1)))
        if start > after
    ][:6]
    assert starts(schedule, after, 6) == [start for _, start in upcoming]
    for day, start in upcoming:
        wall = datetime.combine(day, schedule.start_time)
        shown = start.astimezone(schedule.zone).replace(tzinfo=None)
        in_gap = (
            wall.replace(tzinfo=schedule.zone).astimezone(UTC).astimezone(schedule.zone).replace(tzinfo=None) != wall
        )
        # The wall-clock time is kept, unless it does not exist that day; then it lands just after the gap.
        assert shown == wall or (in_gap and timedelta(0) < shown - wall <= timedelta(hours=2))


@settings(max_examples=80, deadline=None)
@given(schedules(), st.datetimes(NAIVE_2023, NAIVE_2029, timezones=st.just(UTC)), st.data())
def test_chaining_next_occurrence_equals_a_batch(schedule: Schedule, after: datetime, data: st.DataObject) -> None:
    batch = occurrences(schedule, after, 8)
    if batch:
        schedule = schedule.cancel(data.draw(st.sampled_from(batch)).original_start)
        batch = occurrences(schedule, after, 8)
    chained: list[Occurrence] = []
    cursor = after
    while len(chained) < 8 and (found := next_occurrence(schedule, cursor)) is not None:
        chained.append(found)
        cursor = found.start
    assert chained == batch
    assert all(occurrence.start > after for occurrence in batch)


# --- cancellations and moves ----------------------------------------------------------------------------------------


def test_cancelled_occurrence_is_skipped() -> None:
    circle = weekly((MON,), time(19), "Europe/Berlin", anchor=date(2026, 1, 5))
    first, second, third = starts(circle, utc(2026, 1, 1), 3)
    cancelled = circle.cancel(second)
    assert starts(cancelled, utc(2026, 1, 1), 2) == [first, third]
    assert cancelled.restore(second) == circle


def test_moved_occurrence_appears_at_new_time_in_order() -> None:
    circle = weekly((MON,), time(19), "UTC", anchor=date(2026, 1, 5))
    first, second, third = starts(circle, utc(2026, 1, 1), 3)
    later = third + timedelta(days=1)
    moved = circle.move(second, later)
    found = occurrences(moved, utc(2026, 1, 1), 3)
    assert [occurrence.start for occurrence in found] == [first, third, later]
    assert found[2] == Occurrence(later, later + circle.duration, second, True)
    assert found[0].moved is False
    # Moved into the past relative to ``after``: no longer upcoming.
    earlier = circle.move(third, first - timedelta(days=1))
    assert starts(earlier, first, 2) == [second, third + timedelta(weeks=1)]
    # Moving it back where it was removes the move.
    assert moved.move(second, second) == circle


def test_move_past_the_series_end_still_appears() -> None:
    circle = weekly((MON,), time(19), "UTC", anchor=date(2026, 1, 5), count=2)
    first, second = starts(circle, utc(2026, 1, 1), 5)
    moved = circle.move(second, second + timedelta(weeks=4))
    assert starts(moved, utc(2026, 1, 1), 5) == [first, second + timedelta(weeks=4)]


def test_exceptions_for_instants_that_are_not_occurrences() -> None:
    circle = weekly((MON,), time(19), "UTC", anchor=date(2026, 1, 5))
    with pytest.raises(ScheduleError) as caught:
        circle.cancel(utc(2026, 1, 6, 19))
    assert caught.value.key == "schedule.error.not_an_occurrence"
    assert isinstance(caught.value, UserError)
    # A stale exception (say, from before a change of time) is ignored rather than breaking the series.
    stale = replace(circle, moved={utc(2026, 1, 6, 19): utc(2026, 1, 7, 19)})
    assert starts(stale, utc(2026, 1, 1), 2) == [utc(2026, 1, 5, 19), utc(2026, 1, 12, 19)]


def test_cancel_undoes_a_move_and_prune_drops_old_exceptions() -> None:
    circle = weekly((MON,), time(19), "UTC", anchor=date(2026, 1, 5))
    first, second, third = starts(circle, utc(2026, 1, 1), 3)
    changed = circle.move(second, second + timedelta(hours=2)).cancel(second).cancel(first)
    assert dict(changed.moved) == {}
    assert changed.cancelled == {first, second}
    assert changed.move(first, first + timedelta(hours=1)).cancelled == {second}
    assert changed.prune(third).cancelled == frozenset()
    assert changed.prune(second).cancelled == {second}


def test_exceptions_are_normalised_to_utc_and_schedule_is_hashable() -> None:
    cairo = ZoneInfo("Africa/Cairo")
    circle = weekly((MON,), time(19), "Africa/Cairo", anchor=date(2026, 1, 5))
    local = datetime(2026, 1, 5, 19, tzinfo=cairo)
    cancelled = circle.cancel(local)
    assert cancelled.cancelled == {utc(2026, 1, 5, 17)}
    assert next(iter(cancelled.cancelled)).tzinfo is UTC
    assert len({circle, cancelled, circle.cancel(utc(2026, 1, 5, 17))}) == 2


# --- validation -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"interval": 0}, "schedule.error.interval_range"),
        ({"interval": 53}, "schedule.error.interval_range"),
        ({"interval": True}, "schedule.error.bad_field"),
        ({"weekdays": ()}, "schedule.error.no_weekday"),
        ({"weekdays": (1, 1)}, "schedule.error.bad_field"),
        ({"weekdays": (7,)}, "schedule.error.bad_field"),
        ({"nth": 1}, "schedule.error.bad_field"),
        ({"duration": timedelta(0)}, "schedule.error.duration_range"),
        ({"duration": timedelta(hours=12, minutes=1)}, "schedule.error.duration_range"),
        ({"duration": timedelta(seconds=90)}, "schedule.error.bad_field"),
        ({"timezone": "Mars/Olympus"}, "schedule.error.unknown_timezone"),
        ({"timezone": "europe/berlin"}, "schedule.error.unknown_timezone_suggest"),
        ({"timezone": "localtime"}, "schedule.error.unknown_timezone"),
        ({"start_time": time(19, 0, 30)}, "schedule.error.bad_field"),
        ({"start_time": time(19, tzinfo=UTC)}, "schedule.error.bad_field"),
        ({"anchor": datetime(2026, 1, 1, tzinfo=UTC)}, "schedule.error.bad_field"),
        ({"until": date(2025, 12, 31)}, "schedule.error.until_before_anchor"),
        ({"count": 0}, "schedule.error.count_range"),
        ({"count": 1001}, "schedule.error.count_range"),
        ({"count": 3, "until": date(2026, 6, 1)}, "schedule.error.until_and_count"),
        ({"cancelled": frozenset({datetime(2026, 1, 5, 19)})}, "schedule.error.bad_field"),  # noqa: DTZ001
        (
            {"cancelled": frozenset({utc(2026, 1, 5)}), "moved": {utc(2026, 1, 5): utc(2026, 1, 6)}},
            "schedule.error.bad_field",
        ),
    ],
)
def test_weekly_validation(changes: dict[str, Any], key: str) -> None:
    values: dict[str, Any] = {
        "kind": "weekly",
        "weekdays": (MON,),
        "start_time": time(19),
        "timezone": "Europe/Berlin",
        "duration": timedelta(hours=1),
        "anchor": date(2026, 1, 1),
        **changes,
    }
    with pytest.raises(ScheduleError) as caught:
        Schedule(**values)
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("changes", "key", "params"),
    [
        ({"nth": 5}, "schedule.error.bad_nth", {"value": 5}),
        ({"nth": 0}, "schedule.error.bad_nth", {"value": 0}),
        ({"nth": None}, "schedule.error.missing_nth", {}),
        ({"weekday": None}, "schedule.error.no_weekday", {}),
        ({"weekdays": (1,)}, "schedule.error.bad_field", {"field": "weekdays"}),
        ({"interval": 13}, "schedule.error.interval_range", {"low": 1, "high": 12}),
        ({"kind": "daily"}, "schedule.error.bad_field", {"field": "kind"}),
    ],
)
def test_monthly_validation(changes: dict[str, Any], key: str, params: dict[str, object]) -> None:
    values: dict[str, Any] = {
        "kind": "monthly",
        "nth": 1,
        "weekday": SAT,
        "start_time": time(10),
        "timezone": "UTC",
        "duration": timedelta(hours=1),
        "anchor": date(2026, 1, 1),
        **changes,
    }
    with pytest.raises(ScheduleError) as caught:
        Schedule(**values)
    assert (caught.value.key, caught.value.params) == (key, params)


def test_weekdays_are_stored_sorted() -> None:
    assert weekly((THU, MON), time(9), "UTC").weekdays == (MON, THU)


# --- stored form ----------------------------------------------------------------------------------------------------


def test_round_trip_through_json_with_exceptions() -> None:
    circle = weekly((TUE, THU), time(19), "Africa/Cairo", anchor=date(2026, 1, 1), until=date(2026, 12, 31))
    first, second = starts(circle, utc(2026, 1, 1), 2)
    changed = circle.cancel(first).move(second, second + timedelta(hours=1))
    stored = json.loads(json.dumps(changed.to_dict()))
    assert stored["cancelled"] == ["2026-01-01T17:00:00+00:00"]
    assert stored["start_time"] == "19:00"
    assert stored["duration_minutes"] == 90
    assert Schedule.from_dict(stored) == changed


@settings(max_examples=100, deadline=None)
@given(schedules())
def test_any_schedule_round_trips(schedule: Schedule) -> None:
    assert Schedule.from_dict(json.loads(json.dumps(schedule.to_dict()))) == schedule


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"version": 2}, "version"),
        ({"colour": "blue"}, "colour"),
        ({"kind": "daily"}, "kind"),
        ({"interval": "1"}, "interval"),
        ({"interval": True}, "interval"),
        ({"weekdays": "tue"}, "weekdays"),
        ({"start_time": "7pm"}, "start_time"),
        ({"start_time": 1900}, "start_time"),
        ({"duration_minutes": 10**15}, "duration_minutes"),
        ({"anchor": "01/01/2026"}, "anchor"),
        ({"until": 20260101}, "until"),
        ({"cancelled": ["2026-01-06T17:00:00"]}, "cancelled"),
        ({"cancelled": ["yesterday"]}, "cancelled"),
        ({"moved": [["a", "b"]]}, "moved"),
        ({"moved": {"2026-01-06T17:00:00+00:00": "soon"}}, "moved"),
    ],
)
def test_from_dict_refuses_bad_data(changes: dict[str, object], field: str) -> None:
    stored = {**weekly((TUE,), time(19), "UTC").to_dict(), **changes}
    with pytest.raises(ScheduleError) as caught:
        Schedule.from_dict(stored)
    assert (caught.value.key, caught.value.params) == ("schedule.error.bad_field", {"field": field})


def test_from_dict_uses_schedule_validation() -> None:
    stored = {**weekly((TUE,), time(19), "UTC").to_dict(), "interval": 0}
    with pytest.raises(ScheduleError) as caught:
        Schedule.from_dict(stored)
    assert caught.value.key == "schedule.error.interval_range"


def test_timezone_names_exclude_the_host_setting() -> None:
    names = recurrence.timezone_names()
    assert names["europe/berlin"] == "Europe/Berlin"
    assert "localtime" not in names
