"""Every command against every role on the console path, from the shared table (tests/permissions_table.py); and
scenarios that show what the table cannot: nobody does what their role does not allow."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.catalogue import build_catalogue
from bot.engine import Engine
from bot.errors import UserError
from bot.ratelimit import RateLimiter
from bot.storage.models import Escalation
from tests.harness import OTHER, Console
from tests.permissions_table import (
    ACTORS,
    ALERT_NOTE,
    EVENING,
    MORNING,
    OPEN,
    ORDER,
    PLATFORM_ROLE,
    SECRET,
    Actor,
    args_for,
    command_text,
    mismatch,
)

CATALOGUE = build_catalogue()

CONSOLE_NAMES = {
    Actor.MEMBER: "amal",
    Actor.FACILITATOR: "farah",
    Actor.OTHER_FACILITATOR: "omar",
    Actor.FORMER_FACILITATOR: "fadi",
    Actor.MODERATOR: "mod",
    Actor.ADMIN: "ada",
    Actor.OUTSIDER: "intruder",
}


async def _seed(console: Console) -> dict[str, str]:
    """The table's community: three circles and a spare one per actor who may archive, the three facilitators
    trained (each for their own circle; the former one then leaves theirs), the facilitator's private check-in, and
    an alert raised by the member."""
    await console.as_("mod", "moderator")
    for circle in (EVENING, MORNING, OPEN, "Spare moderator", "Spare admin"):
        await console.say(f'!circle create "{circle}"')
    joins = (("amal", [EVENING]), ("farah", [EVENING]), ("omar", [MORNING, EVENING]), ("fadi", [EVENING]))
    for person, circles in joins:
        await console.as_(person)
        for circle in circles:
            await console.say(f'!circle join "{circle}"')
    for person, circle in (("farah", EVENING), ("omar", MORNING), ("fadi", EVENING)):
        await console.as_(person)
        await console.say(f'!facilitate volunteer "{circle}"')
        await console.as_("mod", "moderator")
        assert "trained" in await console.say(f'!facilitate train "{circle}" {person}')
    await console.as_("fadi", "facilitator")
    assert "left" in await console.say(f'!circle leave "{EVENING}"')
    await console.as_("farah", "facilitator")
    await console.say(f"!checkin 3 {SECRET}")
    await console.as_("amal")
    await console.say(f"!support {ALERT_NOTE}")
    async with console.database.transaction() as session:
        alert = await session.scalar(select(func.max(Escalation.id)))
    assert alert is not None
    return {"member": "amal", "alert": str(alert)}


def _record_errors(monkeypatch: pytest.MonkeyPatch, engine: Engine, keys: list[str]) -> None:
    render = engine._render_error

    def recording(locale: str, error: UserError, prefix: str) -> str:
        keys.append(error.key)
        return render(locale, error, prefix)

    monkeypatch.setattr(engine, "_render_error", recording)


async def test_every_command_against_every_role_on_the_console(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared permissions table (tests/permissions_table.py), typed in the console by each kind of person."""
    other = Console(console.database, console.clock)
    other.adapter.community = OTHER
    keys: list[str] = []
    for each in (console, other):
        each.engine.limiter = RateLimiter(per_minute=100_000, burst=10_000)  # faster than any person types
        _record_errors(monkeypatch, each.engine, keys)
    fill = await _seed(console)
    problems = []
    for name in ORDER:
        for actor in ACTORS:
            where = other if actor is Actor.OUTSIDER else console
            await where.as_(CONSOLE_NAMES[actor], PLATFORM_ROLE[actor].label)
            keys.clear()
            answer = await where.say("!" + command_text(name, args_for(name, actor, fill)))
            problem = mismatch(name, actor, list(keys), answer)
            if problem:
                problems.append(problem)
    assert not problems, "\n".join(problems)


async def test_members_cannot_lead_sessions_or_see_others_check_ins(console: Console) -> None:
    await console.as_("mod", "moderator")
    await console.say('!circle create "Evening circle"')
    await console.say('!circle schedule-set "Evening circle" weekly mon 12:30 60m')
    await console.as_("amal")
    await console.say("!circle join Evening circle")
    await console.say("!checkin 2 a private thing")
    await console.as_("ben")
    await console.say("!circle join Evening circle")
    for line in (
        "!session open Evening circle",
        "!session close Evening circle",
        "!session cancel Evening circle 2026-01-05",
    ):
        assert 'Only the facilitators of "Evening circle" or a moderator' in await console.say(line), line
    summary = await console.say("!checkin summary Evening circle")
    assert "a private thing" not in summary
    assert "amal" not in summary
    assert "a private thing" not in await console.say("!checkin history")


async def test_a_facilitator_of_one_circle_has_no_power_over_another(console: Console) -> None:
    await console.as_("mod", "moderator")
    await console.say('!circle create "Evening circle"')
    await console.say('!circle create "Morning circle"')
    await console.say('!circle schedule-set "Morning circle" weekly mon 12:30 60m')
    await console.as_("amal")
    await console.say("!circle join Evening circle")
    await console.say("!facilitate volunteer Evening circle")
    await console.as_("mod", "moderator")
    await console.say("!facilitate train Evening circle amal")
    await console.as_("amal", "facilitator")
    assert 'Only the facilitators of "Morning circle"' in await console.say("!session open Morning circle")
    assert 'Only the facilitators of "Morning circle"' in await console.say("!session cancel Morning circle 2026-01-05")


async def test_nobody_touches_another_communitys_circles_or_alerts(console: Console) -> None:
    await console.as_("mod", "moderator")
    await console.say('!circle create "Evening circle"')
    await console.as_("amal")
    await console.say("honestly I want to kill myself")
    other = Console(console.database, console.clock)
    other.adapter.community = OTHER
    await other.as_("intruder", "admin")
    for line in (
        "!circle info Evening circle",
        "!circle join Evening circle",
        "!circle archive Evening circle",
        '!circle schedule-set "Evening circle" weekly mon 12:30 60m',
    ):
        assert "I couldn't find a circle called" in await other.say(line), line
    assert "There is no alert #1 here." in await other.say("!alert claim 1")
    assert "No open alerts" in await other.say("!alert list")
