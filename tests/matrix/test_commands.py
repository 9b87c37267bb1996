"""Commands typed in Matrix rooms, answered by the running bot on a real Synapse."""

from __future__ import annotations

import time

from tests.matrix.conftest import World
from tests.matrix.people import running


async def test_circle_commands_help_and_private_replies_by_dm(world: World) -> None:
    alice, moderator = world.alice, world.moderator
    async with running(world.settings()):
        started = time.perf_counter()
        await alice.say(world.general, "!circle list")
        listing = await alice.expect(lambda s: s.sender == world.bot.user_id)
        round_trip = time.perf_counter() - started
        print(f"member -> bot -> member round trip: {round_trip * 1000:.0f} ms")
        # A private answer arrives in a direct room the bot opened, as a notice with an HTML body.
        assert listing.room_id != world.general
        assert listing.content["msgtype"] == "m.notice"
        assert listing.content["format"] == "org.matrix.custom.html"
        dm = listing.room_id

        await moderator.say(world.general, '!circle create "Evening circle" topic="Feeling isolated"')
        created = await moderator.expect(lambda s: s.sender == world.bot.user_id and "Evening circle" in s.body)
        assert created.room_id != world.general

        await alice.say(world.general, '!circle join "Evening circle"')
        joined = await alice.expect(lambda s: s.sender == world.bot.user_id and "Evening circle" in s.body)
        if joined.room_id == world.general:
            # Said in the room, it addresses alice with a pill, and only her.
            assert joined.content["m.mentions"] == {"user_ids": [alice.user_id]}
            assert f'href="https://matrix.to/#/{alice.user_id}"' in joined.content["formatted_body"]
        else:
            assert joined.room_id == dm

        started = time.perf_counter()
        await alice.say(world.general, "!help")
        shown = await alice.expect(lambda s: "circle join" in s.body)
        print(f"round trip with the DM room known: {(time.perf_counter() - started) * 1000:.0f} ms")
        assert shown.room_id == dm  # the DM room is reused


async def test_member_cannot_create_a_circle(world: World) -> None:
    async with running(world.settings()):
        await world.bob.say(world.general, "!circle create Secret club")
        refused = await world.bob.expect(lambda s: s.sender == world.bot.user_id)
        assert "moderator" in refused.body
