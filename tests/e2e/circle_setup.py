"""The "Evening circle" the console flows in tests/e2e set up the same way: a moderator creates it in a community on
Berlin time, members join, some volunteer to facilitate, a moderator confirms who is trained, and a weekly schedule may
be set. Each module's ``clock`` fixture starts at START, 30 hours before RULE's first Tuesday session (it stays
in the module: pytest finds a fixture named ``clock`` there, and an imported one would need a noqa on each use)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from bot.clock import ManualClock
from bot.ratelimit import RateLimiter
from bot.storage import Database
from bot.storage.schedule_models import CircleSession
from tests.harness import Console

CIRCLE = "Evening circle"
PEOPLE = ("amal", "ben", "chen")
# Monday 16 March 2026, 12:00 UTC. Berlin is UTC+1 until it moves its clocks forward on Sunday 29 March.
START = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
# Tuesdays at 19:00 in Berlin: 18:00 UTC until 29 March.
RULE = '"Evening circle" weekly tue 19:00 Europe/Berlin 90m'
FIRST = "Tue 2026-03-17 19:00 (Europe/Berlin)"  # RULE's first session
TO_START = {"days": 1, "hours": 6}  # from START to the first session's start
PROMPT = '[direct message to {who}] It\'s time: "Evening circle" starts now.'  # to whoever leads, at the start


async def volunteer_and_train(console: Console, volunteers: Sequence[str], trained: Sequence[str]) -> dict[str, str]:
    """Each of ``volunteers`` offers to facilitate the circle; then a moderator confirms each of ``trained`` as a
    trained facilitator (one who did not volunteer is trained but not in the rotation). Leaves the console as the
    moderator. Returns what each confirmation printed, by name."""
    for name in volunteers:
        await console.as_(name)
        await console.say(f"!facilitate volunteer {CIRCLE}")
    await console.as_("mod", "moderator")
    return {name: await console.say(f"!facilitate train {CIRCLE} {name}") for name in trained}


async def evening_circle(
    database: Database,
    clock: ManualClock,
    *,
    members: Sequence[str] = PEOPLE,
    volunteers: Sequence[str] = (),
    trained: Sequence[str] | None = None,
    rule: str | None = None,
    capacity: int | None = 8,
    relax_rate_limit: bool = False,
) -> Console:
    """A console community on Berlin time where the moderator ``mod`` has created "Evening circle" (with room for
    ``capacity``, or the default room when None) and each of ``members`` has joined it, in order.

    ``volunteers`` then offer to facilitate and the moderator confirms ``trained`` (``volunteers`` when None); with a
    ``rule`` (what follows ``!circle schedule-set``) the moderator sets the schedule, so its sessions are planned.
    ``relax_rate_limit`` gives the engine a limiter that lets a thousand commands through at once, for flows where
    the rate limit is not what is tested. The console is left as the last person who acted: the moderator once
    anyone is trained or the schedule is set, else the last member to join."""
    console = Console(database, clock, timezone="Europe/Berlin")
    if relax_rate_limit:
        console.engine.limiter = RateLimiter(burst=1_000)
    await console.prepare()
    await console.as_("mod", "moderator")
    room = "" if capacity is None else f" capacity={capacity}"
    await console.say(f'!circle create "{CIRCLE}"{room}')
    for name in members:
        await console.as_(name)
        await console.say(f"!circle join {CIRCLE}")
    if trained is None:
        trained = volunteers
    if volunteers or trained:
        await volunteer_and_train(console, volunteers, trained)
    if rule is not None:
        if not (volunteers or trained):
            await console.as_("mod", "moderator")
        await console.say(f"!circle schedule-set {rule}")
    return console


async def next_session(console: Console) -> CircleSession:
    """The earliest session still planned (there must be one)."""
    async with console.database.transaction() as session:
        row = (
            (
                await session.execute(
                    select(CircleSession).where(CircleSession.status == "scheduled").order_by(CircleSession.start_at)
                )
            )
            .scalars()
            .first()
        )
        assert row is not None
        return row
