"""A homeserver restart while a session's room is open: the bot reconnects, still reads the session room, the
facilitator still closes it, and nothing said before the restart is said again."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from nio import RoomSendResponse
from sqlalchemy import select

from bot.adapters.matrix import MatrixAdapter
from bot.app import Application
from bot.clock import ManualClock
from bot.i18n import catalogue
from bot.ratelimit import RateLimiter
from bot.storage.models import Circle, Member
from bot.storage.schedule_models import Facilitator
from tests.matrix.conftest import World
from tests.matrix.people import Person, Seen, matrix_settings, running

CONCERN = "honestly I want to kill myself"
CIRCLE = "Evening circle"


def _adapter(app: Application) -> MatrixAdapter:
    adapter = app.adapters[0]
    assert isinstance(adapter, MatrixAdapter)
    return adapter


def _by_hand(app: Application) -> None:
    # The test fires the session's timers itself, with the bot's clock moved by hand.
    app.run_scheduler_loop = False
    app.engine.limiter = RateLimiter(per_minute=100_000, burst=10_000)  # a test types faster than any person


async def _ask(person: Person, room_id: str, text: str, bot: str, answer: str) -> Seen:
    """Type ``text``; the bot's answer, known by a fragment of it (a notice about something else may come first)."""
    person._read = len(person.seen)
    await person.say(room_id, text)
    return await person.expect(lambda s: s.sender == bot and answer in s.body)


async def _train(app: Application, person: Person) -> None:
    """Mark the volunteer trained directly (``facilitate train`` is a moderator's step not under test here)."""
    async with app.database.transaction() as session:
        circle_id = await session.scalar(select(Circle.id).where(Circle.name == CIRCLE))
        member_id = await session.scalar(select(Member.id).where(Member.native_id == person.user_id))
        row = await session.scalar(
            select(Facilitator).where(Facilitator.circle_id == circle_id, Facilitator.member_id == member_id)
        )
        assert row is not None, "the volunteer has no facilitator row"
        row.trained = True


async def _until(condition: object, what: str, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)  # polling readiness, bounded by the deadline


async def _listen(person: Person, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await person._sync_once(200)


async def _open_session(world: World, app: Application, clock: ManualClock) -> str:
    """A circle with a trained facilitator (alice) and a member (bob), its session due now and opened by alice in a
    room of its own, where bob is welcomed and speaks; returns the session room."""
    alice, bob, moderator, bot, general = world.alice, world.bob, world.moderator, world.bot.user_id, world.general
    await _ask(moderator, general, f'!circle create "{CIRCLE}"', bot, "Created")
    for person in (alice, bob):
        await _ask(person, general, f'!circle join "{CIRCLE}"', bot, "Welcome to")
    await _ask(alice, general, f'!facilitate volunteer "{CIRCLE}"', bot, CIRCLE)
    await _train(app, alice)
    start = clock.now() + timedelta(minutes=5)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[start.weekday()]
    rule = f'"{CIRCLE}" weekly {day} {start:%H:%M} UTC 60m'
    await _ask(moderator, general, f"!circle schedule-set {rule}", bot, "now meets")
    await app.scheduler.plan_all()
    clock.advance(timedelta(minutes=6))
    await app.scheduler.run_due()
    await app.deliverer.drain()
    await alice.expect(lambda s: s.sender == bot and "It's time" in s.body)
    bob._read = len(bob.seen)
    alice._read = len(alice.seen)
    await alice.say(general, f'!session open "{CIRCLE}"')
    welcome = await bob.expect(
        lambda s: s.sender == bot and s.room_id not in (general, world.moderators) and "agreements" in s.body,
        within=15,
    )
    await bob.say(welcome.room_id, "Hello everyone, glad to be here")
    await alice.expect(lambda s: s.sender == bob.user_id and s.room_id == welcome.room_id)
    return welcome.room_id


async def test_a_session_room_survives_a_homeserver_restart(world: World) -> None:
    alice, bob, moderator, bot, general = world.alice, world.bob, world.moderator, world.bot.user_id, world.general
    synapse = world.synapse
    await moderator.join(world.moderators)
    settings = matrix_settings(
        world.data_dir, synapse.url, world.bot, rooms=[general], moderators=world.moderators, on_call=moderator.user_id
    )
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    async with running(settings, clock=clock, prepare=_by_hand) as app:
        adapter = _adapter(app)
        session_room = await _open_session(world, app, clock)

        # The homeserver restarts while the session is open.
        try:
            await asyncio.to_thread(synapse.stop)
            await _until(lambda: not adapter.ready, "the adapter did not notice the homeserver stopping", 15)
        finally:
            await asyncio.to_thread(synapse.start)
        await _until(lambda: adapter.ready, "the adapter did not reconnect", 40)

        # The session room is still read: crisis language there raises one alert, with a link to the message.
        moderator._read = len(moderator.seen)
        event_id = await bob.say(session_room, CONCERN)
        alert = await moderator.expect(lambda s: s.sender == bot and s.room_id == world.moderators, within=20)
        assert f"https://matrix.to/#/{session_room}/{event_id}" in alert.body
        await bob.expect(lambda s: s.sender == bot and "not a counsellor" in s.body, within=20)  # privately
        await moderator.nothing(lambda s: s.sender == bot and s.room_id == world.moderators, within=1.5)

        # The facilitator still closes it, and the members see the closing notice in the session room.
        alice._read = len(alice.seen)
        await alice.say(general, f'!session close "{CIRCLE}"')
        closed = await alice.expect(lambda s: s.sender == bot and s.body.startswith("Closed"), within=20)
        assert closed.room_id not in (general, session_room), closed.body
        await bob.expect(lambda s: s.sender == bot and s.room_id == session_room and "read-only" in s.body)
        for person in (alice, bob, moderator):
            await _listen(person, 1.0)  # late duplicates, if any, arrive

    # Nothing the bot said before the restart was said again after it.
    for person in (alice, bob, moderator):
        said = Counter((s.room_id, s.body) for s in person.seen if s.sender == bot)
        repeated = [body[:60] for (_, body), count in said.items() if count > 1]
        assert not repeated, f"{person.user_id} saw these twice: {repeated}"
        assert len({s.event_id for s in person.seen}) == len(person.seen)
    assert sum(1 for s in bob.seen if s.sender == bot and s.room_id == session_room and "agreements" in s.body) == 1


async def test_a_session_nobody_closed_is_closed_by_the_schedule_and_its_room_becomes_read_only(world: World) -> None:
    alice, bob, bot = world.alice, world.bob, world.bot.user_id
    await world.moderator.join(world.moderators)
    settings = matrix_settings(
        world.data_dir, world.synapse.url, world.bot, rooms=[world.general], moderators=world.moderators
    )
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    async with running(settings, clock=clock, prepare=_by_hand) as app:
        session_room = await _open_session(world, app, clock)
        # Nobody closes it: past its end and the grace period, the scheduler does.
        bob._read = len(bob.seen)
        clock.advance(timedelta(minutes=60 + 16))
        await app.scheduler.run_due()
        await app.deliverer.drain()
        ended = catalogue().t("en", "session.auto_closed", circle=CIRCLE)
        await bob.expect(lambda s: s.sender == bot and s.room_id == session_room and s.body == ended)
        # The background deliverer may be the one sending it: the room becomes read-only right after the notice.
        deadline = time.monotonic() + 15
        while True:
            levels = await alice.client.room_get_state_event(session_room, "m.room.power_levels")
            if getattr(levels, "content", {}).get("events_default") == 100:
                break
            assert time.monotonic() < deadline, "the closed session room did not become read-only"
            await asyncio.sleep(0.1)  # polling the homeserver, bounded by the deadline
        # The room is now read-only for its members: the homeserver refuses what they write.
        answer = await alice.client.room_send(
            session_room, "m.room.message", {"msgtype": "m.text", "body": "one more thing"}
        )
        assert not isinstance(answer, RoomSendResponse), "a member could still write in the closed session room"
        assert getattr(answer, "status_code", None) == "M_FORBIDDEN", answer
