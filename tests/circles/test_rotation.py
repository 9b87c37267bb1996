"""Facilitator rotation: who is eligible, the fairness order, backups, and projections over coming sessions."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.circles.rotation import SKIP_REASONS, Candidate, Choice, choose, project

SESSION = datetime(2026, 3, 10, 18, tzinfo=UTC)


def volunteer(member_id: int, **changes: object) -> Candidate:
    values: dict[str, object] = {"trained": True, "volunteering": True, **changes}
    return Candidate(member_id, **values)  # type: ignore[arg-type]


def weekly_sessions(count: int, first: datetime = SESSION) -> list[datetime]:
    return [first + timedelta(weeks=week) for week in range(count)]


# --- choose ---------------------------------------------------------------------------------------------------------


def test_fewest_led_in_window_first() -> None:
    choice = choose([volunteer(1, led_in_window=3), volunteer(2, led_in_window=1), volunteer(3, led_in_window=2)],
                    SESSION, load_cap=None)  # fmt: skip
    assert choice == Choice(primary=2, backup=3, skipped={})


def test_ties_go_to_never_led_then_least_recent_then_lowest_id() -> None:
    earlier, later = SESSION - timedelta(weeks=4), SESSION - timedelta(weeks=1)
    candidates = [
        volunteer(5, led_in_window=1, last_led=later),
        volunteer(4, led_in_window=1, last_led=earlier),
        volunteer(9, led_in_window=1),
        volunteer(7, led_in_window=1),
    ]
    assert choose(candidates, SESSION, load_cap=None) == Choice(primary=7, backup=9, skipped={})
    without_new = [candidate for candidate in candidates if candidate.last_led is not None]
    assert choose(without_new, SESSION, load_cap=None) == Choice(primary=4, backup=5, skipped={})
    same_time = [volunteer(3, last_led=earlier), volunteer(2, last_led=earlier)]
    assert choose(same_time, SESSION, load_cap=None).primary == 2


def test_untrained_is_never_chosen_even_when_volunteering_and_alone() -> None:
    choice = choose([volunteer(1, trained=False)], SESSION, load_cap=None)
    assert choice == Choice(primary=None, backup=None, skipped={1: "untrained"})


def test_each_skip_reason() -> None:
    away = ((SESSION - timedelta(days=1), SESSION + timedelta(days=1)),)
    candidates = [
        volunteer(1, trained=False, volunteering=False),  # the first reason that applies is reported
        volunteer(2, volunteering=False),
        volunteer(3, away=away),
        volunteer(4, led_this_month=2),
        volunteer(5),
        volunteer(6, led_in_window=4),
    ]
    choice = choose(candidates, SESSION, load_cap=2, exclude=frozenset({5}))
    assert choice == Choice(
        primary=6,
        backup=None,
        skipped={1: "untrained", 2: "not_volunteering", 3: "away", 4: "over_cap", 5: "excluded"},
    )
    assert set(choice.skipped.values()) == set(SKIP_REASONS)


def test_away_period_is_half_open() -> None:
    member = volunteer(1, away=((SESSION, SESSION + timedelta(days=7)),))
    assert choose([member], SESSION, load_cap=None).skipped == {1: "away"}
    assert choose([member], SESSION - timedelta(minutes=1), load_cap=None).primary == 1
    assert choose([member], SESSION + timedelta(days=7), load_cap=None).primary == 1


def test_cap_none_means_no_cap_and_zero_means_nobody() -> None:
    busy = volunteer(1, led_this_month=30)
    assert choose([busy], SESSION, load_cap=None).primary == 1
    assert choose([busy, volunteer(2)], SESSION, load_cap=0).skipped == {1: "over_cap", 2: "over_cap"}


def test_no_one_eligible() -> None:
    assert choose([], SESSION, load_cap=None) == Choice(primary=None, backup=None, skipped={})
    assert choose([volunteer(1, volunteering=False)], SESSION, load_cap=None).primary is None


def test_single_eligible_has_no_backup() -> None:
    assert choose([volunteer(1), volunteer(2, trained=False)], SESSION, load_cap=None) == Choice(
        primary=1, backup=None, skipped={2: "untrained"}
    )


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="once"):
        choose([volunteer(1), volunteer(1)], SESSION, load_cap=None)
    with pytest.raises(ValueError, match="aware"):
        choose([volunteer(1)], SESSION.replace(tzinfo=None), load_cap=None)
    with pytest.raises(ValueError, match="aware"):
        volunteer(1, last_led=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="negative"):
        volunteer(1, led_in_window=-1)
    with pytest.raises(ValueError, match="negative"):
        choose([volunteer(1)], SESSION, load_cap=-1)


def test_works_in_any_zone() -> None:
    cairo = ZoneInfo("Africa/Cairo")
    member = volunteer(1, away=((datetime(2026, 3, 10, 20, tzinfo=cairo), datetime(2026, 3, 11, tzinfo=cairo)),))
    # 18:00 UTC is 20:00 in Cairo: inside the away period.
    assert choose([member], SESSION, load_cap=None).skipped == {1: "away"}


# --- project --------------------------------------------------------------------------------------------------------


def test_eight_weeks_with_three_volunteers_rotates_in_turn() -> None:
    choices = project([volunteer(3), volunteer(1), volunteer(2)], weekly_sessions(8), load_cap=None)
    assert [choice.primary for choice in choices] == [1, 2, 3, 1, 2, 3, 1, 2]
    assert [choice.backup for choice in choices] == [2, 3, 1, 2, 3, 1, 2, 3]


def test_projection_starts_with_whoever_is_behind() -> None:
    last_week = SESSION - timedelta(weeks=1)
    candidates = [volunteer(1, led_in_window=2, last_led=last_week), volunteer(2, led_in_window=0), volunteer(3)]
    choices = project(candidates, weekly_sessions(6), load_cap=None)
    assert [choice.primary for choice in choices] == [2, 3, 2, 3, 1, 2]


def test_away_member_is_skipped_then_comes_first_on_return() -> None:
    away = ((SESSION - timedelta(days=1), SESSION + timedelta(days=8)),)
    candidates = [volunteer(1, away=away), volunteer(2), volunteer(3)]
    choices = project(candidates, weekly_sessions(5), load_cap=None)
    assert [choice.primary for choice in choices] == [2, 3, 1, 2, 3]
    assert choices[0].skipped == {1: "away"}
    assert choices[1] == Choice(primary=3, backup=2, skipped={1: "away"})


def test_monthly_cap_resets_when_the_month_changes() -> None:
    # Sessions every 10 days from 1 March: four in March (the 1st, 11th, 21st, 31st), then 10 April.
    sessions = [datetime(2026, 3, 1, 18, tzinfo=UTC) + timedelta(days=10 * index) for index in range(5)]
    choices = project([volunteer(1), volunteer(2, trained=False)], sessions, load_cap=2)
    assert [choice.primary for choice in choices] == [1, 1, None, None, 1]
    assert choices[2].skipped == {1: "over_cap", 2: "untrained"}


def test_month_boundary_in_the_circle_zone() -> None:
    riyadh = ZoneInfo("Asia/Riyadh")
    # 31 March 22:00 UTC is already 1 April in Riyadh, so the counter has reset there but not in UTC.
    sessions = [datetime(2026, 3, 31, 18, tzinfo=UTC), datetime(2026, 3, 31, 22, tzinfo=UTC)]
    assert [choice.primary for choice in project([volunteer(1)], sessions, load_cap=1)] == [1, None]
    assert [choice.primary for choice in project([volunteer(1)], sessions, load_cap=1, month_zone=riyadh)] == [1, 1]


def test_without_window_updates_order_follows_recency() -> None:
    candidates = [volunteer(1, led_in_window=5), volunteer(2, led_in_window=0), volunteer(3, led_in_window=0)]
    counted = project(candidates, weekly_sessions(4), load_cap=None)
    assert [choice.primary for choice in counted] == [2, 3, 2, 3]
    recency_only = project(candidates, weekly_sessions(4), load_cap=None, window_counts_update=False)
    # Window counts stay as given, so the two with none alternate and member 1 waits.
    assert [choice.primary for choice in recency_only] == [2, 3, 2, 3]


def test_assigned_sessions_are_honoured_and_counted() -> None:
    sessions = weekly_sessions(4)
    choices = project([volunteer(1), volunteer(2), volunteer(3)], sessions, load_cap=None, assigned={sessions[0]: 3})
    assert [choice.primary for choice in choices] == [3, 1, 2, 3]
    assert choices[0].backup == 1


def test_projection_input_checks() -> None:
    assert project([volunteer(1)], [], load_cap=None) == []
    with pytest.raises(ValueError, match="order"):
        project([volunteer(1)], [SESSION, SESSION - timedelta(days=1)], load_cap=None)
    with pytest.raises(ValueError, match="once"):
        project([volunteer(1), volunteer(1)], [SESSION], load_cap=None)


@st.composite
def pools(draw: st.DrawFn) -> list[Candidate]:
    ids = draw(st.lists(st.integers(1, 10_000), min_size=1, max_size=8, unique=True))
    return [
        Candidate(
            member_id=member,
            trained=draw(st.booleans()),
            volunteering=draw(st.booleans()),
            last_led=draw(st.none() | st.just(SESSION - timedelta(days=draw(st.integers(1, 400))))),
        )
        for member in ids
    ]


@settings(max_examples=200, deadline=None)
@given(pools(), st.integers(1, 60), st.booleans())
def test_long_projection_is_fair(pool: list[Candidate], length: int, update_window: bool) -> None:
    choices = project(pool, weekly_sessions(length), load_cap=None, window_counts_update=update_window)
    eligible = {candidate.member_id for candidate in pool if candidate.trained and candidate.volunteering}
    led: Counter[int] = Counter()
    for choice in choices:
        assert choice.primary is None or choice.primary in eligible
        assert choice.backup is None or choice.backup != choice.primary
        assert (choice.primary is None) == (not eligible)
        assert (choice.backup is None) == (len(eligible) < 2)
        if choice.primary is not None:
            led[choice.primary] += 1
        counts = [led[member] for member in eligible]
        # After every session, any two eligible candidates have led within one session of each other.
        assert not counts or max(counts) - min(counts) <= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=2, max_size=6))
def test_projection_closes_an_uneven_start(window_counts: list[int]) -> None:
    pool = [volunteer(index, led_in_window=count) for index, count in enumerate(window_counts)]
    catch_up = sum(max(window_counts) - count for count in window_counts)
    choices = project(pool, weekly_sessions(catch_up + 3 * len(pool)), load_cap=None)
    totals = Counter(dict(enumerate(window_counts)))
    for number, choice in enumerate(choices, start=1):
        assert choice.primary is not None
        totals[choice.primary] += 1
        if number >= catch_up:
            assert max(totals.values()) - min(totals.values()) <= 1
