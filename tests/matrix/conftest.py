"""A real Synapse for the Matrix tests (session-wide), and a community of rooms with a bot, members and a moderator.

Set ``PEER_CIRCLES_SKIP_MATRIX=1`` to leave these tests out; they skip by themselves when Synapse cannot be
installed.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import Settings
from tests.matrix.people import Person, matrix_settings
from tests.matrix.synapse import Account, Synapse, SynapseUnavailable, ensure_installed


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "matrix: runs against a real Synapse homeserver (tests/matrix)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/matrix/" in str(item.path).replace(os.sep, "/") and "synapse" in item.fixturenames:
            item.add_marker(pytest.mark.matrix)


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """One homeserver for the whole run, stopped with SIGTERM at the end."""
    if os.environ.get("PEER_CIRCLES_SKIP_MATRIX"):
        pytest.skip("PEER_CIRCLES_SKIP_MATRIX is set")
    try:
        python = ensure_installed()
        server = Synapse(python, tmp_path_factory.mktemp("synapse"))
        server.start()
    except SynapseUnavailable as error:
        pytest.skip(f"no Synapse homeserver: {error}")
    try:
        yield server
    finally:
        server.stop()


_counter = iter(range(1, 1_000_000))


@dataclass
class World:
    """One test's accounts and rooms: fresh users each test, so tests never see each other's rooms."""

    synapse: Synapse
    bot: Account
    moderator: Person
    alice: Person
    bob: Person
    general: str
    moderators: str
    data_dir: Path

    def settings(self, **matrix: object) -> Settings:
        """The bot's configuration here: the general room is the community, alerts go to the moderators' room
        (pinging the moderator as on call); ``matrix`` overrides ``platforms.matrix`` settings."""
        settings = matrix_settings(
            self.data_dir,
            self.synapse.url,
            self.bot,
            rooms=[self.general],
            moderators=self.moderators,
            on_call=self.moderator.user_id,
        )
        if not matrix:
            return settings
        data = settings.model_dump(mode="json")
        data["platforms"]["matrix"].update(matrix)
        data["platforms"]["matrix"]["access_token"] = self.bot.access_token  # dumped masked
        return Settings.model_validate(data)


@pytest.fixture
async def world(synapse: Synapse, tmp_path: Path) -> AsyncIterator[World]:
    """A community: a general room (moderator at power 100, alice and bob joined) and a moderators' room, the bot
    invited to both (it joins when it starts)."""
    n = next(_counter)
    bot = synapse.register(f"bot{n}")
    people = [Person(synapse.url, synapse.register(f"{name}{n}")) for name in ("mod", "alice", "bob")]
    moderator, alice, bob = people
    # Room version 11: version 12 ids (!hash, no server part) are not yet accepted by the config validator.
    general = await moderator.create_room("General", [bot.user_id, alice.user_id, bob.user_id], room_version="11")
    mods = await moderator.create_room("Moderators", [bot.user_id], room_version="11")
    for person in (alice, bob):
        await person.join(general)
    for person in people:
        await person.start()
    try:
        yield World(synapse, bot, moderator, alice, bob, general, mods, tmp_path)
    finally:
        for person in people:
            await person.close()
