"""Check-in arithmetic without a database: distributions, trends and the k-anonymity threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.circles.checkin_stats import (
    K_ANONYMITY,
    MoodBand,
    Point,
    Trend,
    classify_trend,
    distribution,
    is_shareable,
    mood_band,
    summarise,
    trend,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def test_mood_bands() -> None:
    assert [mood_band(mood) for mood in range(1, 6)] == [
        MoodBand.LOW,
        MoodBand.LOW,
        MoodBand.OKAY,
        MoodBand.GOOD,
        MoodBand.GOOD,
    ]


@pytest.mark.parametrize("mood", [0, 6, -1])
def test_moods_outside_one_to_five_are_refused(mood: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        mood_band(mood)
    with pytest.raises(ValueError, match="outside"):
        distribution([3, mood])


def test_distribution_counts_each_mood_in_order() -> None:
    assert distribution([]) == (0, 0, 0, 0, 0)
    assert distribution([1, 5, 5, 3, 3, 3]) == (1, 0, 3, 0, 2)


@given(st.lists(st.integers(min_value=1, max_value=5)))
def test_distribution_adds_up(moods: list[int]) -> None:
    counts = distribution(moods)
    assert len(counts) == 5
    assert sum(counts) == len(moods)


@pytest.mark.parametrize(
    ("recent", "earlier", "expected"),
    [
        ([4, 4], [3, 3], Trend.UP),
        ([3], [3, 4], Trend.DOWN),  # 3 against 3.5: exactly the margin
        ([3, 4], [3, 3], Trend.UP),  # 3.5 against 3: exactly the margin
        ([3, 3, 4], [3, 3, 3], Trend.STEADY),  # a third of a point
        ([2], [4], Trend.DOWN),
        ([5, 1], [3], Trend.STEADY),
        ([], [3], Trend.NOT_ENOUGH),
        ([3], [], Trend.NOT_ENOUGH),
        ([], [], Trend.NOT_ENOUGH),
    ],
)
def test_classify_trend(recent: list[int], earlier: list[int], expected: Trend) -> None:
    assert classify_trend(recent, earlier) is expected


def test_a_wider_margin_makes_more_steady() -> None:
    assert classify_trend([4], [3], margin=Fraction(2)) is Trend.STEADY


def test_trend_compares_the_last_week_with_the_one_before() -> None:
    points = [
        Point(ago(days=1), 4, 1),
        Point(ago(days=6, hours=23), 4, 1),
        Point(ago(days=8), 2, 1),
        Point(ago(days=13), 2, 1),
        Point(ago(days=20), 5, 1),  # older than two weeks: ignored
    ]
    assert trend(points, NOW) is Trend.UP
    assert trend(points[:2], NOW) is Trend.NOT_ENOUGH
    assert trend(points[2:4], NOW) is Trend.NOT_ENOUGH


def test_trend_window_edges() -> None:
    # Exactly seven days ago belongs to the earlier week; exactly fourteen days ago is outside both.
    assert trend([Point(NOW, 3, 1), Point(ago(days=7), 1, 1)], NOW) is Trend.UP
    assert trend([Point(NOW, 3, 1), Point(ago(days=14), 1, 1)], NOW) is Trend.NOT_ENOUGH
    # A check-in after "now" (clock skew) counts in neither week.
    assert trend([Point(NOW + timedelta(minutes=1), 3, 1), Point(ago(days=8), 1, 1)], NOW) is Trend.NOT_ENOUGH


def test_an_aggregate_trend_needs_enough_people_in_each_week() -> None:
    earlier = [Point(ago(days=9), 3, member) for member in (1, 2, 3)]
    one_person_recently = [Point(ago(days=1), 1, 1), Point(ago(days=2), 1, 1), Point(ago(days=3), 1, 1)]
    assert trend(earlier + one_person_recently, NOW, min_people=3) is Trend.NOT_ENOUGH
    three_recently = [Point(ago(days=1), 1, member) for member in (1, 2, 3)]
    assert trend(earlier + three_recently, NOW, min_people=3) is Trend.DOWN


def test_k_anonymity_threshold() -> None:
    assert K_ANONYMITY == 3
    assert not is_shareable(0)
    assert not is_shareable(2)
    assert is_shareable(3)
    assert is_shareable(1, k=1)


def test_summary_is_withheld_below_k_distinct_people_however_many_check_ins() -> None:
    two_people = [Point(ago(days=day), 3, 1 + day % 2) for day in range(20)]
    assert summarise(two_people, NOW) is None
    assert summarise([], NOW) is None


def test_summary_counts_people_and_moods_but_holds_no_ids() -> None:
    points = [
        Point(ago(days=1), 2, 10),
        Point(ago(days=2), 4, 11),
        Point(ago(days=3), 4, 12),
        Point(ago(days=9), 5, 10),
        Point(ago(days=10), 5, 11),
        Point(ago(days=11), 5, 12),
        Point(ago(days=20), 1, 13),
    ]
    result = summarise(points, NOW)
    assert result is not None
    assert result.checkins == 7
    assert result.members == 4
    assert result.distribution == (1, 1, 0, 2, 3)
    assert result.trend is Trend.DOWN  # 3.33 this week against 5 the week before
    assert set(vars(type(result))["__slots__"]) == {"checkins", "members", "distribution", "trend"}
