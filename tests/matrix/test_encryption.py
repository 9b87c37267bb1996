"""Encrypted rooms: read and answered with ``matrix-nio[e2e]`` and encryption on; a clear notice when it is off."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    KeysClaimResponse,
    ToDeviceMessage,
    ToDeviceResponse,
    WhoamiResponse,
)
from nio.crypto import OlmDevice

from bot.adapters.matrix import MatrixAdapter
from bot.adapters.matrix.client import encryption_available
from bot.adapters.matrix.keys import KEY_WAIT
from bot.clock import ManualClock
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


async def _olm_ready(person: Person, room_id: str, user_id: str, within: float = 15) -> OlmDevice:
    """``user_id``'s device as ``person``'s client knows it, with an Olm session to it."""
    client = person.client
    deadline = time.monotonic() + within
    while not client.olm.device_store.active_user_devices(user_id):  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"{person.user_id} never learnt {user_id}'s device"
        await person._sync_once(500)
    missing = client.get_missing_sessions(room_id)
    if missing:
        assert isinstance(await client.keys_claim(missing), KeysClaimResponse)
    (device,) = client.olm.device_store.active_user_devices(user_id)  # type: ignore[union-attr]
    assert client.olm.session_store.get(device.curve25519) is not None  # type: ignore[union-attr]
    return device  # type: ignore[no-any-return]


@needs_e2e
async def test_a_message_whose_room_key_comes_late_is_read_when_it_arrives(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    moderator, bot = world.moderator, world.bot.user_id
    await moderator.join(world.moderators)
    account = world.synapse.register(f"e2ecarol{uuid.uuid4().hex[:8]}")
    carol = await _e2e_person(world.synapse.url, account, world.data_dir / "carol-store")
    try:
        room = await carol.create_room("Encrypted circle", [bot], initial_state=[ENCRYPTION], room_version="11")
        settings = _settings(world, moderators=world.moderators, encryption=True)
        data = settings.model_dump(mode="json")
        data["communities"][0]["rooms"] = [room]
        data["platforms"]["matrix"]["access_token"] = world.bot.access_token
        settings = Settings.model_validate(data)
        clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
        async with running(settings, clock=clock) as app:
            adapter = app.adapters[0]
            assert isinstance(adapter, MatrixAdapter)
            await _until_joined(carol, room, bot)
            bot_device = await _olm_ready(carol, room, bot)
            # Carol's client makes the room's session and keeps its key from the bot's device for now, the way a
            # key that has not reached the bot yet looks.
            olm = carol.client.olm
            assert olm is not None
            olm.create_outbound_group_session(room)
            session = olm.outbound_group_sessions[room]
            room_key = {
                "algorithm": "m.megolm.v1.aes-sha2",
                "room_id": room,
                "session_id": session.id,
                "session_key": session.session_key,
            }
            olm.blacklist_device(bot_device)
            await carol.client.share_group_session(room, ignore_unverified_devices=True)
            with caplog.at_level(logging.INFO, logger="bot.adapters.matrix"):
                concern_id = await carol.say(room, CONCERN)
                await moderator.nothing(lambda s: s.sender == bot, within=2.0)  # the bot cannot read it yet
                assert concern_id in adapter.keys
                assert session.id in adapter.client.outgoing_key_requests  # the key was asked for

                # The key is overdue: the room is told once, and a warning is logged once for the message.
                clock.advance(KEY_WAIT + timedelta(seconds=1))
                await carol.say(room, "is anyone there?")  # also unreadable; its own wait starts now
                told = await carol.expect(lambda s: s.sender == bot and s.room_id == room)
                assert "could not read some encrypted messages" in told.body
                await carol.say(room, "hello?")
                await carol.nothing(lambda s: s.sender == bot and s.room_id == room, within=1.5)

                # The key arrives (an m.room_key to the bot's device): the message is read, and alerts once.
                olm_session = olm.session_store.get(bot_device.curve25519)
                content = olm._olm_encrypt(olm_session, bot_device, "m.room_key", room_key)
                sent = await carol.client.to_device(
                    ToDeviceMessage("m.room.encrypted", bot, bot_device.device_id, content)
                )
                assert isinstance(sent, ToDeviceResponse), sent
                alert = await moderator.expect(lambda s: s.sender == bot and s.room_id == world.moderators, within=20)
                assert concern_id in alert.body
                await moderator.nothing(lambda s: s.sender == bot and s.room_id == world.moderators, within=1.5)
                assert not len(adapter.keys)
            warnings = [r.getMessage() for r in caplog.records if "has not arrived" in r.getMessage()]
            assert len([w for w in warnings if concern_id in w]) == 1
    finally:
        await carol.close()
