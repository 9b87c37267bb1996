"""Encrypted rooms: read and answered with ``matrix-nio[e2e]`` and encryption on; a clear notice when it is off."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from nio import AsyncClient, AsyncClientConfig, WhoamiResponse

from bot.adapters.matrix.client import encryption_available
from bot.config import Settings
from tests.matrix.conftest import World
from tests.matrix.people import Person, matrix_settings, running
from tests.matrix.synapse import Account

CONCERN = "honestly I want to kill myself"
ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}

needs_e2e = pytest.mark.skipif(
    not encryption_available(),
    reason="matrix-nio's encryption extra is not installed (pip install 'matrix-nio[e2e]', which brings vodozemac)",
)


def _settings(world: World, *, moderators: str, encryption: bool) -> Settings:
    settings = matrix_settings(
        world.data_dir,
        world.synapse.url,
        world.bot,
        rooms=[world.general],
        moderators=moderators,
        on_call=world.moderator.user_id,
    )
    data = settings.model_dump(mode="json")
    data["platforms"]["matrix"]["encryption"] = encryption
    data["platforms"]["matrix"]["access_token"] = world.bot.access_token
    return Settings.model_validate(data)


async def _e2e_person(url: str, account: Account, store: Path) -> Person:
    await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
    probe = AsyncClient(url, account.user_id)
    probe.access_token = account.access_token
    who = await probe.whoami()
    await probe.close()
    assert isinstance(who, WhoamiResponse), who
    config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
    client = AsyncClient(url, account.user_id, device_id=who.device_id, store_path=str(store), config=config)
    person = Person(url, account, client)
    await person.start()
    return person


async def _until_joined(person: Person, room_id: str, user_id: str, within: float = 15) -> None:
    deadline = time.monotonic() + within
    while room_id not in person.client.rooms or user_id not in person.client.rooms[room_id].users:
        assert time.monotonic() < deadline, f"{user_id} did not join {room_id}"
        await person._sync_once(500)


@needs_e2e
async def test_the_bot_reads_and_writes_an_encrypted_room(world: World) -> None:
    alice, bot = world.alice, world.bot.user_id
    account = world.synapse.register(f"e2emod{uuid.uuid4().hex[:8]}")
    moderator = await _e2e_person(world.synapse.url, account, world.data_dir / "moderator-store")
    try:
        mods = await moderator.create_room("Encrypted moderators", [bot], initial_state=[ENCRYPTION], room_version="11")
        settings = _settings(world, moderators=mods, encryption=True)
        async with running(settings):
            await _until_joined(moderator, mods, bot)
            # The bot writes into the encrypted room: the alert arrives encrypted and the moderator decrypts it.
            await alice.say(world.general, CONCERN)
            alert = await moderator.expect(lambda s: s.sender == bot and s.room_id == mods, within=20)
            assert "!alert claim 1" in alert.body
            # The bot reads the encrypted room: an encrypted command is answered.
            await moderator.say(mods, "!alert claim 1")
            claimed = await moderator.expect(lambda s: s.sender == bot and "!alert resolve 1" in s.body, within=20)
            assert "alert #1" in claimed.body
        store = world.data_dir / "matrix"
        kept = sorted(p.name for p in store.iterdir())
        assert kept, "the crypto store is under the data directory"
        # A restart keeps the device's keys: the same store, and the room still reads and answers.
        async with running(settings):
            await moderator.say(mods, "!alert list")
            await moderator.expect(lambda s: s.sender == bot and "#1" in s.body, within=20)
        assert sorted(p.name for p in store.iterdir()) == kept
    finally:
        await moderator.close()


async def test_without_encryption_the_bot_says_it_cannot_read_the_room(world: World) -> None:
    moderator, bot = world.moderator, world.bot.user_id
    await moderator.join(world.moderators)
    async with running(_settings(world, moderators=world.moderators, encryption=False)):
        # What a client with encryption sends: the bot, without keys, sees only ciphertext.
        fake = {
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
            "device_id": "SOMEDEVICE",
            "sender_key": "IlRMeOPX2e0MurIyfWEucYBRVOEEUMrOHqn/8mLqMjA",
            "session_id": "X3lUlvLELLYxeTx4yOVu6UDpasGEVO0Jbu+QFnm0cKQ",
        }
        await world.alice.send(world.general, "m.room.encrypted", fake)
        told = await world.alice.expect(lambda s: s.sender == bot and s.room_id == world.general)
        assert "cannot read encrypted messages" in told.body
        # Said once per room, not for every message.
        await world.alice.send(world.general, "m.room.encrypted", fake)
        await world.alice.nothing(lambda s: s.sender == bot and s.room_id == world.general, within=1.0)
