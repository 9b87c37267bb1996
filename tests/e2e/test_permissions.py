"""Every command against every role: nobody does what their role does not allow, on any path."""

from __future__ import annotations

import pytest

from bot.catalogue import build_catalogue
from bot.commands import OptionKind
from bot.model import Role
from tests.harness import OTHER, Console

CATALOGUE = build_catalogue()
ROLES = [role.label for role in Role]


def _args(name: str) -> str:
    """Arguments that fit the declaration, so the role check (not a bad argument) is what answers."""
    words = []
    for option in CATALOGUE.commands[name].options:
        if not option.required:
            continue
        if option.kind is OptionKind.INTEGER:
            words.append(str(option.min_value or 1))
        elif option.kind is OptionKind.CHOICE:
            words.append(option.choices[0])
        else:
            words.append('"Evening circle"' if option.autocomplete == "circle" else "x")
    return " ".join(words)


@pytest.mark.parametrize(
    "name", sorted(name for name, command in CATALOGUE.commands.items() if command.min_role > Role.MEMBER)
)
async def test_each_guarded_command_refuses_every_lower_role(console: Console, name: str) -> None:
    needed = CATALOGUE.commands[name].min_role
    for role in Role:
        if role >= needed:
            continue
        await console.as_(f"someone-{role.label}", role.label)
        out = await console.say(f"!{name} {_args(name)}")
        article = "an" if needed is Role.ADMIN else "a"
        assert f"Only {article} {needed.label} or above can do that here." in out, (name, role.label, out)


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
