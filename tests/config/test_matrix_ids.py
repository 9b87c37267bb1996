"""Matrix room ids of every room version are accepted; malformed ones are not."""

from __future__ import annotations

import pytest

from bot.config.fields import is_matrix_room


@pytest.mark.parametrize(
    "room",
    ["!abcdef:matrix.org", "!abcdef:localhost:8008", "!" + "A1b2_-" * 7 + "x", "#circles:matrix.org"],
)
def test_room_ids_and_aliases_of_all_versions_are_accepted(room: str) -> None:
    assert is_matrix_room(room)


@pytest.mark.parametrize("room", ["!short", "abcdef:matrix.org", "!with space:matrix.org", "!" + "a" * 44])
def test_malformed_room_ids_are_refused(room: str) -> None:
    assert not is_matrix_room(room)
