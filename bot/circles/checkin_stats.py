"""Pure check-in arithmetic: mood distributions, trends and the k-anonymity rule for aggregates.

Nothing here touches the database or a clock: callers hand in the points and the time. A point carries the
author's id only so distinct people can be counted; no function here returns an id or a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

__all__ = [
    "K_ANONYMITY",
    "MAX_MOOD",
    "MIN_MOOD",
    "STEADY_MARGIN",
    "SUMMARY_PERIOD",
    "TREND_WINDOW",
    "MoodBand",
    "Point",
    "Summary",
    "Trend",
    "classify_trend",
    "distribution",
    "is_shareable",
    "mood_band",
    "summarise",
    "trend",
]

MIN_MOOD = 1
MAX_MOOD = 5
K_ANONYMITY = 3
"""Fewest distinct people an aggregate may describe, so nobody can be picked out of it."""
TREND_WINDOW = timedelta(days=7)
"""A trend compares the average of the last window with the one before it."""
SUMMARY_PERIOD = timedelta(weeks=4)
"""How far back a facilitator's summary looks."""
STEADY_MARGIN = Fraction(1, 2)
"""A change of average mood smaller than this (on the 1-5 scale) is steady."""


class Trend(StrEnum):
    """Which way the average mood moved between two windows."""

    UP = "up"
    DOWN = "down"
    STEADY = "steady"
    NOT_ENOUGH = "not_enough"


class MoodBand(StrEnum):
    """How a single mood is acknowledged: low moods (1-2) get the support wording."""

    LOW = "low"
    OKAY = "okay"
    GOOD = "good"


@dataclass(frozen=True, slots=True)
class Point:
    """One check-in as the arithmetic sees it: when, which mood, and who (only to count distinct people)."""

    at: datetime
    mood: int
    member: int


@dataclass(frozen=True, slots=True)
class Summary:
    """An anonymous aggregate: counts only, never who or what they wrote."""

    checkins: int
    members: int
    distribution: tuple[int, ...]
    """How many check-ins had each mood, from 1 to 5."""
    trend: Trend


def _check(mood: int) -> int:
    if not MIN_MOOD <= mood <= MAX_MOOD:
        raise ValueError(f"mood {mood} is outside {MIN_MOOD}..{MAX_MOOD}")
    return mood


def mood_band(mood: int) -> MoodBand:
    """The acknowledgment band of ``mood``: 1-2 low, 3 okay, 4-5 good."""
    _check(mood)
    if mood <= 2:
        return MoodBand.LOW
    return MoodBand.OKAY if mood == 3 else MoodBand.GOOD


def distribution(moods: Iterable[int]) -> tuple[int, ...]:
    """How many of ``moods`` are 1, 2, 3, 4 and 5, in that order."""
    counts = [0] * (MAX_MOOD - MIN_MOOD + 1)
    for mood in moods:
        counts[_check(mood) - MIN_MOOD] += 1
    return tuple(counts)


def classify_trend(recent: Sequence[int], earlier: Sequence[int], *, margin: Fraction = STEADY_MARGIN) -> Trend:
    """Compare the average of ``recent`` with that of ``earlier``: up, down, steady, or not enough if one is empty."""
    if not recent or not earlier:
        return Trend.NOT_ENOUGH
    change = Fraction(sum(recent), len(recent)) - Fraction(sum(earlier), len(earlier))
    if change >= margin:
        return Trend.UP
    if change <= -margin:
        return Trend.DOWN
    return Trend.STEADY


def trend(points: Iterable[Point], now: datetime, *, window: timedelta = TREND_WINDOW, min_people: int = 1) -> Trend:
    """The last ``window`` up to ``now`` against the ``window`` before it.

    Each window must hold check-ins from at least ``min_people`` distinct people, or the trend is not enough: for
    an aggregate this keeps a week in which one person alone checked in from describing that person.
    """
    recent: list[Point] = []
    earlier: list[Point] = []
    for point in points:
        if now - window < point.at <= now:
            recent.append(point)
        elif now - 2 * window < point.at <= now - window:
            earlier.append(point)
    if len({point.member for point in recent}) < min_people or len({point.member for point in earlier}) < min_people:
        return Trend.NOT_ENOUGH
    return classify_trend([point.mood for point in recent], [point.mood for point in earlier])


def is_shareable(people: int, *, k: int = K_ANONYMITY) -> bool:
    """Whether an aggregate over ``people`` distinct people may be shown without identifying anyone."""
    return people >= k


def summarise(points: Iterable[Point], now: datetime, *, k: int = K_ANONYMITY) -> Summary | None:
    """The anonymous aggregate of ``points``, or ``None`` when fewer than ``k`` distinct people checked in."""
    chosen = list(points)
    people = len({point.member for point in chosen})
    if not is_shareable(people, k=k):
        return None
    return Summary(
        checkins=len(chosen),
        members=people,
        distribution=distribution(point.mood for point in chosen),
        trend=trend(chosen, now, min_people=k),
    )
