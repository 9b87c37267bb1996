"""At a session's start: does the person assigned to lead it still lead it? A moderator's choice holds from outside
the rotation and lapses only when the person cannot lead at all; the rotation's and a swap's keep their old rules."""

from __future__ import annotations

from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.circles.rotation import Standing, at_start, lapse
from bot.circles.session_flow import LAPSE_REASONS
from bot.i18n import catalogue

IN_ROTATION = Standing(in_circle=True, trained=True, volunteering=True, away=False)
OUTSIDE = Standing(in_circle=True, trained=True, volunteering=False, away=False)
LEFT = Standing(in_circle=False, trained=True, volunteering=False, away=False)
UNTRAINED = Standing(in_circle=True, trained=False, volunteering=False, away=False)
AWAY = Standing(in_circle=True, trained=True, volunteering=True, away=True)

standings = st.builds(Standing, st.booleans(), st.booleans(), st.booleans(), st.booleans())


def test_a_moderators_choice_from_outside_the_rotation_holds() -> None:
    assert at_start(OUTSIDE, named_by_moderator=True, swapped=False) == "keep"
    assert at_start(IN_ROTATION, named_by_moderator=True, swapped=False) == "keep"
    # The same person chosen by the rotation, then stepping down, is left to the rotation as before.
    assert at_start(OUTSIDE, named_by_moderator=False, swapped=False) == "rotation"


@pytest.mark.parametrize(
    ("standing", "reason"),
    [(None, "forgotten"), (LEFT, "left"), (UNTRAINED, "untrained"), (AWAY, "away")],
)
def test_a_moderators_choice_lapses_only_when_the_person_cannot_lead(standing: Standing | None, reason: str) -> None:
    assert lapse(standing) == reason
    assert at_start(standing, named_by_moderator=True, swapped=False) == "lapsed"


def test_reasons_are_reported_in_order() -> None:
    nothing_right = Standing(in_circle=False, trained=False, volunteering=False, away=True)
    assert lapse(nothing_right) == "left"
    assert lapse(Standing(in_circle=True, trained=False, volunteering=True, away=True)) == "untrained"
    assert lapse(IN_ROTATION) is None
    assert lapse(OUTSIDE) is None


def test_nobody_who_left_the_circle_is_kept_whoever_assigned_them() -> None:
    # Still a trained volunteer of the circle on paper, but no longer in it: neither the rotation's pick nor a swap
    # holds, as a moderator's choice does not (it lapses, and the moderators hear why).
    left_volunteer = Standing(in_circle=False, trained=True, volunteering=True, away=False)
    for swapped in (False, True):
        assert at_start(left_volunteer, named_by_moderator=False, swapped=swapped) == "rotation"
    assert at_start(left_volunteer, named_by_moderator=True, swapped=False) == "lapsed"


def test_the_rotations_and_a_swaps_assignments_keep_their_rules() -> None:
    assert at_start(IN_ROTATION, named_by_moderator=False, swapped=False) == "keep"
    assert at_start(OUTSIDE, named_by_moderator=False, swapped=True) == "keep"  # took it in a swap
    for swapped in (False, True):
        assert at_start(None, named_by_moderator=False, swapped=swapped) == "rotation"
        assert at_start(UNTRAINED, named_by_moderator=False, swapped=swapped) == "rotation"
        assert at_start(AWAY, named_by_moderator=False, swapped=swapped) == "rotation"


@given(standings, st.booleans())
def test_only_a_moderators_choice_can_lapse_and_it_lapses_exactly_when_a_reason_applies(
    standing: Standing, swapped: bool
) -> None:
    assert at_start(standing, named_by_moderator=False, swapped=swapped) != "lapsed"
    verdict = at_start(standing, named_by_moderator=True, swapped=swapped)
    assert verdict == ("lapsed" if lapse(standing) else "keep")
    # Whatever the rotation or a swap would keep, a moderator's choice keeps too (it only ever adds), and nothing
    # keeps someone who could not lead at all.
    if at_start(standing, named_by_moderator=False, swapped=swapped) == "keep":
        assert verdict == "keep"
        assert lapse(standing) is None


def test_every_reason_reads_in_english_and_arabic() -> None:
    messages = catalogue()
    assert set(LAPSE_REASONS) == {"forgotten", "left", "untrained", "away"}
    for locale, key in product(("en", "ar"), LAPSE_REASONS.values()):
        reason = messages.t(locale, key, member="chen")
        assert reason
        for notice in ("rotation.lapsed.moderators", "rotation.lapsed.moderators_nobody"):
            text = messages.t(locale, notice, circle="Evening circle", when="Tue", reason=reason, lead="amal")
            assert reason in text
    assert "chen" in messages.t("ar", LAPSE_REASONS["left"], member="chen")
