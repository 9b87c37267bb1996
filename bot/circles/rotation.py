"""Fair facilitator rotation: who leads a session, who backs them up, and why others were passed over.

Pure: the caller reads the ledger (sessions led in the fairness window, last led, led this month) into
:class:`Candidate` values and stores the outcome. :func:`at_start` decides, at a session's start, whether the person
assigned to it still leads it. Only trained volunteers lead, as peer-support practice asks.
Fairness is "fewest sessions led in the window, then least recently led (never led first), then member id", so the
order is total and the same inputs always give the same choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from itertools import pairwise
from typing import Final, Literal

__all__ = [
    "SKIP_REASONS",
    "Candidate",
    "Choice",
    "LapseReason",
    "SkipReason",
    "Standing",
    "Verdict",
    "at_start",
    "choose",
    "lapse",
    "project",
]

SkipReason = Literal["untrained", "not_volunteering", "away", "over_cap", "excluded"]
# In the order they are checked: a candidate is reported under the first that applies.
SKIP_REASONS: Final[tuple[SkipReason, ...]] = ("untrained", "not_volunteering", "away", "over_cap", "excluded")
LapseReason = Literal["forgotten", "left", "untrained", "away"]
"""Why a person named to lead a session cannot: their data was deleted, they left the circle, they are no longer a
trained facilitator of it, or they are away at its start."""
Verdict = Literal["keep", "rotation", "lapsed"]
"""At a session's start: ``keep`` the assigned facilitator; let the ``rotation`` decide as usual; or a moderator's
choice has ``lapsed`` (:func:`lapse` says why), so the rotation decides without that person and the moderators are
told."""
# Sorts before any real time, so someone who never led comes before everyone who has.
_NEVER: Final = datetime.min.replace(tzinfo=UTC)


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A circle member as rotation sees them.

    ``away`` holds half-open ``[from, to)`` periods; ``led_in_window`` counts sessions led within the fairness window
    and ``led_this_month`` those led in the session's month (for the load cap).
    """

    member_id: int
    trained: bool
    volunteering: bool
    away: tuple[tuple[datetime, datetime], ...] = ()
    led_in_window: int = 0
    last_led: datetime | None = None
    led_this_month: int = 0

    def __post_init__(self) -> None:
        if self.led_in_window < 0 or self.led_this_month < 0:
            raise ValueError("session counts cannot be negative")
        if self.last_led is not None:
            _require_aware(self.last_led, "last_led")
        for start, end in self.away:
            _require_aware(start, "away start")
            _require_aware(end, "away end")

    def is_away(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside one of the away periods."""
        return any(start <= moment < end for start, end in self.away)

    def _fairness_key(self) -> tuple[int, datetime, int]:
        return (self.led_in_window, self.last_led or _NEVER, self.member_id)


@dataclass(frozen=True)
class Choice:
    """The facilitator for one session, a backup (never the same person), and why each other candidate was skipped."""

    primary: int | None
    backup: int | None
    # Excluded from hashing: a dict is not hashable, and the two names identify the choice.
    skipped: dict[int, SkipReason] = field(default_factory=dict, hash=False)


def _skip_reason(
    candidate: Candidate, session_start: datetime, load_cap: int | None, exclude: frozenset[int]
) -> SkipReason | None:
    if not candidate.trained:
        return "untrained"
    if not candidate.volunteering:
        return "not_volunteering"
    if candidate.is_away(session_start):
        return "away"
    if load_cap is not None and candidate.led_this_month >= load_cap:
        return "over_cap"
    if candidate.member_id in exclude:
        return "excluded"
    return None


def _check_unique(candidates: Sequence[Candidate]) -> None:
    if len({candidate.member_id for candidate in candidates}) != len(candidates):
        raise ValueError("each member may appear only once among the candidates")


def _choose(
    candidates: Sequence[Candidate],
    session_start: datetime,
    load_cap: int | None,
    exclude: frozenset[int],
    assigned: int | None = None,
) -> Choice:
    eligible: list[Candidate] = []
    skipped: dict[int, SkipReason] = {}
    for candidate in candidates:
        if candidate.member_id == assigned:
            continue
        reason = _skip_reason(candidate, session_start, load_cap, exclude)
        if reason is None:
            eligible.append(candidate)
        else:
            skipped[candidate.member_id] = reason
    eligible.sort(key=Candidate._fairness_key)
    names = [candidate.member_id for candidate in eligible]
    if assigned is not None:
        names.insert(0, assigned)
    return Choice(
        primary=names[0] if names else None,
        backup=names[1] if len(names) > 1 else None,
        skipped=skipped,
    )


def choose(
    candidates: Iterable[Candidate],
    session_start: datetime,
    *,
    load_cap: int | None,
    exclude: frozenset[int] = frozenset(),
) -> Choice:
    """The fairest eligible facilitator for a session starting at ``session_start`` (aware), and the next as backup.

    Eligible means trained, volunteering, not away at the start, under ``load_cap`` sessions this month (None: no
    cap) and not in ``exclude``. With no one eligible, ``primary`` is None: the caller must tell members and
    moderators rather than open the session silently.
    """
    _require_aware(session_start, "session_start")
    if load_cap is not None and load_cap < 0:
        raise ValueError("load_cap cannot be negative")
    pool = list(candidates)
    _check_unique(pool)
    return _choose(pool, session_start, load_cap, exclude)


def _month(moment: datetime, zone: tzinfo) -> tuple[int, int]:
    local = moment.astimezone(zone)
    return local.year, local.month


def project(
    candidates: Iterable[Candidate],
    session_starts: Sequence[datetime],
    *,
    load_cap: int | None,
    window_counts_update: bool = True,
    assigned: Mapping[datetime, int] | None = None,
    month_zone: tzinfo = UTC,
) -> list[Choice]:
    """The choices for the coming sessions, in order, as if each chosen primary leads the session they are given.

    Each primary's ``last_led`` becomes the session start and their ``led_this_month`` (and, with
    ``window_counts_update``, ``led_in_window``) goes up by one, so the projection rotates as the real rotation will.
    ``led_this_month`` is read as counting the month of the first session; counters reset whenever the month (in
    ``month_zone``, the circle's zone for a per-month cap in local terms) changes between sessions. ``assigned`` fixes
    the primary of a session (a moderator's override or an accepted swap) regardless of eligibility; the backup is
    then the fairest other eligible candidate. Sessions falling out of the fairness window are not modelled: a
    projection is a forecast, and the real choice is made from the ledger at the time.
    """
    for start in session_starts:
        _require_aware(start, "session start")
    if any(later < earlier for earlier, later in pairwise(session_starts)):
        raise ValueError("session_starts must be in time order")
    if load_cap is not None and load_cap < 0:
        raise ValueError("load_cap cannot be negative")
    given = list(candidates)
    _check_unique(given)
    pool = {candidate.member_id: candidate for candidate in given}
    overrides = dict(assigned or {})
    choices: list[Choice] = []
    month = _month(session_starts[0], month_zone) if session_starts else None
    for start in session_starts:
        if _month(start, month_zone) != month:
            month = _month(start, month_zone)
            pool = {member: replace(candidate, led_this_month=0) for member, candidate in pool.items()}
        choice = _choose(list(pool.values()), start, load_cap, frozenset(), overrides.get(start))
        choices.append(choice)
        leader = pool.get(choice.primary) if choice.primary is not None else None
        if leader is not None:
            pool[leader.member_id] = replace(
                leader,
                led_in_window=leader.led_in_window + (1 if window_counts_update else 0),
                led_this_month=leader.led_this_month + 1,
                last_led=start,
            )
    return choices


@dataclass(frozen=True, slots=True)
class Standing:
    """What is true, at a session's start, of the member assigned to lead it."""

    in_circle: bool
    """An active member (a seat, not a waitlist place) of the session's circle."""
    trained: bool
    volunteering: bool
    away: bool
    """Away (``facilitate away``) at the session's start."""


def lapse(standing: Standing | None) -> LapseReason | None:
    """Why the person cannot lead the session, or None if they can. ``standing`` is None once their data is gone.

    Used both when a moderator names someone (``rotation set`` refuses such a person) and at the start."""
    if standing is None:
        return "forgotten"
    if not standing.in_circle:
        return "left"
    if not standing.trained:
        return "untrained"
    if standing.away:
        return "away"
    return None


def at_start(standing: Standing | None, *, named_by_moderator: bool, swapped: bool) -> Verdict:
    """Whether the facilitator assigned to a session still leads it at its start.

    A moderator's choice holds whether or not the person is in the rotation (volunteering, under the monthly cap,
    among the fairest): it lapses only when they can no longer lead at all (:func:`lapse`). Otherwise the assignment
    made at planning, or taken in an accepted swap, holds while the person could lead it at all (still in the
    circle, trained and not away) and, unless they took it in a swap, still in the rotation; being among the fairest
    right now is not asked, as the session is counted as theirs already. Anything else is left to the rotation.
    """
    if named_by_moderator:
        return "lapsed" if lapse(standing) else "keep"
    if standing is None or lapse(standing) is not None:
        return "rotation"
    return "keep" if standing.volunteering or swapped else "rotation"
