"""Every slash command generated from the catalogue, end to end through simcord and the real discord.py: a success
path with valid arguments for the role it needs, and an error path (a role too low where the command is guarded,
otherwise a circle that does not exist)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import discord
import pytest
import simcord

from bot.adapters.discord.commands import slash_paths
from bot.catalogue import build_catalogue
from bot.clock import ManualClock
from bot.commands import Command, OptionKind
from bot.errors import UserError
from bot.i18n import catalogue
from bot.model import Role
from tests.discord.world import World, ephemeral_text

CIRCLE = "Evening circle"
RULE = "weekly tue 19:00 Europe/Berlin 90m"  # the clock starts on Monday 2026-01-05 at noon UTC
CATALOGUE = build_catalogue()
PATHS = slash_paths(CATALOGUE)
COMMANDS = [command for command in CATALOGUE if not command.console_only]

TEXT_VALUES: dict[str, object] = {
    "name": "Morning circle",
    "rule": RULE,
    "date": "2026-01-06",
    "new_date": "2026-01-07",
    "new_time": "18:00",
    "from": "2026-12-01",
    "to": "2026-12-07",
    "timezone": "Europe/London",
    "suggestion": "A local grief helpline",
    "note": "A calm week",
}
"""Values for text options, by option name (circle, member and admin settings are filled in per scenario)."""

ADMIN_VALUES = {"setting": "timezone", "value": "Europe/London"}

OPEN_FIRST = {"session close", "session here", "session feedback"}
"""Commands that need the session of this Tuesday evening open (feedback: attended and closed)."""

RUN_BY = {
    "circle join": Role.ADMIN,
    "session open": Role.MODERATOR,
    "session close": Role.MODERATOR,
    "rotation accept": Role.MODERATOR,
}
"""Who runs a command whose success needs more than its minimum role (or someone not yet in the circle)."""


class Scenario:
    """A circle with a weekly schedule; a member who joined it, trained and volunteered to facilitate; a moderator
    and an administrator; an open alert (from a support request)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.admin_role = world.guild.create_role("Admins", permissions=discord.Permissions(administrator=True))
        self.member = world.member("sam")
        self.moderator = world.member("mona", world.mod_role)
        self.admin = world.member("ada", self.admin_role)
        self.errors: list[str] = []
        self.request = ""
        """The number of the swap request the moderator was asked to accept, read from her direct message."""

    async def build(self) -> None:
        mona = self.moderator
        await self.run_ok(mona, "circle create", name=CIRCLE)
        await self.run_ok(mona, "circle schedule-set", circle=CIRCLE, rule=RULE)
        await self.run_ok(self.member, "circle join", circle=CIRCLE)
        await self.run_ok(mona, "circle join", circle=CIRCLE)
        await self.run_ok(mona, "facilitate train", circle=CIRCLE, member=str(self.member.id))
        await self.run_ok(self.member, "facilitate volunteer", circle=CIRCLE)
        await self.run_ok(self.member, "support", note="I could use someone to talk to")
        self.errors.clear()

    async def prepare(self, command: Command) -> None:
        """Bring the circle to the state ``command`` needs: its session due, open, attended or closed; or, for a
        swap, the member leading the next session (and, to accept, the moderator asked to take it)."""
        if command.name in ("rotation swap", "rotation accept"):
            await self.prepare_swap(ask=command.name == "rotation accept")
            return
        if not command.name.startswith("session ") or command.name in ("session cancel", "session move"):
            return
        if command.name == "session rsvp":
            return
        clock = self.world.app.clock
        assert isinstance(clock, ManualClock)
        clock.advance(timedelta(hours=30))  # Tuesday 19:00 in Berlin
        await self.world.app.scheduler.run_due()
        if command.name in OPEN_FIRST:
            await self.run_ok(self.moderator, "session open", circle=CIRCLE)
        if command.name == "session feedback":
            await self.run_ok(self.member, "session here", circle=CIRCLE)
            await self.run_ok(self.moderator, "session close", circle=CIRCLE)
        self.errors.clear()

    async def prepare_swap(self, *, ask: bool) -> None:
        """The moderator is trained too; a moderator hands the member the next session; to test ``accept``, the
        member asks the moderator to take it, and the request's number is read from her direct messages."""
        mona = self.moderator
        await self.run_ok(mona, "facilitate train", circle=CIRCLE, member=mona.mention)
        await self.run_ok(mona, "rotation set", circle=CIRCLE, member=self.member.mention)
        if ask:
            await self.run_ok(self.member, "rotation swap", circle=CIRCLE, member=mona.mention)
            asked = mona.user.dm_channel.history()[-1].content
            found = re.search(r"/rotation accept (\d+)", asked)
            assert found, asked
            self.request = found.group(1)
        self.errors.clear()

    def actor(self, role: Role) -> simcord.MemberActor:
        if role >= Role.ADMIN:
            return self.admin
        if role >= Role.MODERATOR:
            return self.moderator
        return self.member

    def arguments(self, command: Command) -> dict[str, Any]:
        """Valid arguments: every required option, and a note where leaving it out would open a modal."""
        args: dict[str, Any] = {}
        for option in command.options:
            if not option.required and option.name != "note":
                continue
            if option.autocomplete == "circle":
                args[option.name] = CIRCLE
            elif option.name == "member" and command.name == "rotation swap":
                args[option.name] = self.moderator.mention  # the other facilitator, named by a mention
            elif option.name == "member":
                args[option.name] = str(self.member.id)
            elif command.name == "admin set":
                args[option.name] = ADMIN_VALUES[option.name]
            elif option.kind is OptionKind.INTEGER:
                args[option.name] = option.min_value if option.min_value is not None else 1
            elif option.kind is OptionKind.CHOICE:
                args[option.name] = option.choices[0]
            elif option.name == "request":
                args[option.name] = self.request
            else:
                args[option.name] = TEXT_VALUES[option.name]
        return args

    async def run(self, who: simcord.MemberActor, name: str, /, **args: Any) -> str:
        result = await who.slash(self.world.general, " ".join(PATHS[name]), **args)
        return ephemeral_text(result)

    async def run_ok(self, who: simcord.MemberActor, name: str, /, **args: Any) -> str:
        before = len(self.errors)
        text = await self.run(who, name, **args)
        assert self.errors[before:] == [], (name, text)
        assert text != catalogue().t("en", "error.internal"), name
        return text


@pytest.fixture
def scenario(world: World, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    made = Scenario(world)
    engine = world.app.engine
    render = engine._render_error

    def recording(locale: str, error: UserError, prefix: str) -> str:
        made.errors.append(error.key)
        return render(locale, error, prefix)

    monkeypatch.setattr(engine, "_render_error", recording)
    return made


def _ids(command: Command) -> str:
    return command.name.replace(" ", "-")


@pytest.mark.parametrize("command", COMMANDS, ids=_ids)
async def test_each_command_succeeds_for_its_role(scenario: Scenario, command: Command) -> None:
    await scenario.build()
    await scenario.prepare(command)
    who = scenario.actor(RUN_BY.get(command.name, command.min_role))
    text = await scenario.run_ok(who, command.name, **scenario.arguments(command))
    assert text.strip()


GUARDED = [command for command in COMMANDS if command.min_role > Role.MEMBER]
WITH_CIRCLE = [
    command
    for command in COMMANDS
    if command.min_role is Role.MEMBER
    and any(option.autocomplete == "circle" for option in command.options)
    and command.name != "circle leave"  # asks for confirmation first; the unknown circle is named after Confirm
]


@pytest.mark.parametrize("command", GUARDED, ids=_ids)
async def test_each_guarded_command_refuses_a_lower_role(scenario: Scenario, command: Command) -> None:
    lower = scenario.member if command.min_role is Role.MODERATOR else scenario.moderator
    text = await scenario.run(lower, command.name, **scenario.arguments(command))
    phrase = catalogue().t("en", f"role_phrase.{command.min_role.label}")
    assert text == catalogue().t("en", "error.not_allowed", role=phrase)
    assert scenario.errors == ["error.not_allowed"]


@pytest.mark.parametrize("command", WITH_CIRCLE, ids=_ids)
async def test_each_circle_command_names_an_unknown_circle(scenario: Scenario, command: Command) -> None:
    args = {**scenario.arguments(command), "circle": "No such circle"}
    text = await scenario.run(scenario.member, command.name, **args)
    assert len(scenario.errors) == 1, text
    assert "No such circle" in text


# -- a swap, asked and accepted, from each person's side ----------------------------------------------------------


def _dms(member: simcord.MemberActor) -> list[str]:
    """What the bot has said to ``member`` in their direct messages, oldest first."""
    return [message.content for message in member.user.dm_channel.history()]


async def test_a_facilitator_swaps_the_next_session_and_the_other_accepts(world: World) -> None:
    """sam leads the next session; lina, trained but not in the rotation, agrees to take it; the swap holds at the
    start. Each step is checked as each person sees it: private answers, direct messages, the rotation."""
    t = catalogue().t
    clock = world.app.clock
    assert isinstance(clock, ManualClock)
    mona = world.member("mona", world.mod_role)
    sam, lina, omar = world.member("sam"), world.member("lina"), world.member("omar")

    async def run(who: simcord.MemberActor, name: str, /, **args: Any) -> str:
        return ephemeral_text(await who.slash(world.general, " ".join(PATHS[name]), **args))

    await run(mona, "circle create", name=CIRCLE)
    for person in (sam, lina, omar):
        await run(person, "circle join", circle=CIRCLE)
    await run(sam, "facilitate volunteer", circle=CIRCLE)
    await run(mona, "facilitate train", circle=CIRCLE, member=sam.mention)
    await run(mona, "circle schedule-set", circle=CIRCLE, rule=RULE)  # plans Tue 2026-01-06: sam, the one volunteer
    trained = await run(mona, "facilitate train", circle=CIRCLE, member=str(lina.id))  # an id works as a mention does
    assert trained == t("en", "rotation.train.done", member=lina.mention, circle=CIRCLE)
    when = "Tue 2026-01-06 18:00 (UTC)"  # 19:00 in Berlin, shown in the community's zone (no one set their own)
    assert f"{when}: {sam.mention} (backup: " in await run(omar, "rotation show", circle=CIRCLE)

    # The facilitator's notice (due at once: the session is less than 48 h away) tells sam how to swap.
    await world.app.scheduler.run_due()
    await world.drain()
    assert "/rotation swap Evening circle" in _dms(sam)[-1]
    sam_seen = len(_dms(sam))

    # Wrong uses, each answered privately and changing nothing.
    not_yours = t("en", "rotation.error.not_yours", circle=CIRCLE)
    assert await run(lina, "rotation swap", circle=CIRCLE, member=sam.mention) == not_yours
    assert await run(omar, "rotation swap", circle=CIRCLE, member=lina.mention) == not_yours
    assert await run(lina, "rotation accept", request="1") == t("en", "rotation.error.no_request", id="1")
    untrained = await run(sam, "rotation swap", circle=CIRCLE, member=omar.mention)
    assert untrained == t("en", "rotation.error.not_trained", member=omar.mention, circle=CIRCLE)
    assert await run(sam, "rotation swap", circle=CIRCLE, member=sam.mention) == t(
        "en", "rotation.error.not_trained", member=sam.mention, circle=CIRCLE
    )
    assert _dms(lina) == [
        t("en", "rotation.train.notice", circle=CIRCLE, volunteer=f"/facilitate volunteer {CIRCLE}")
    ]  # only the training notice
    assert _dms(omar) == []

    # sam asks lina, by mention: sam is told privately, lina by direct message with the command to accept.
    asked = await run(sam, "rotation swap", circle=CIRCLE, member=lina.mention)
    assert asked == t("en", "rotation.swap.asked", member=lina.mention)
    (request,) = _dms(lina)[1:]
    found = re.search(r"/rotation accept (\d+)", request)
    assert found, request
    number = found.group(1)
    assert request == t(
        "en", "rotation.swap.request", who=sam.mention, circle=CIRCLE, when=when, accept=f"/rotation accept {number}"
    )
    assert world.general.last_message is None or "rotation" not in world.general.last_message.content

    # Only lina can accept it; then she is told privately, and sam by direct message.
    no_request = t("en", "rotation.error.no_request", id=number)
    assert await run(omar, "rotation accept", request=number) == no_request
    assert await run(sam, "rotation accept", request=number) == no_request
    assert await run(lina, "rotation accept", request=number) == t("en", "rotation.swap.accepted", circle=CIRCLE)
    await world.drain()
    assert _dms(sam)[sam_seen:] == [t("en", "rotation.swap.done", who=lina.mention, circle=CIRCLE, when=when)]
    # sam had the facilitator notice already, so lina, who would otherwise never get it, gets it now.
    assert _dms(lina)[-1].startswith(f'You are facilitating "{CIRCLE}" on {when}.'), _dms(lina)[-1]
    assert await run(lina, "rotation accept", request=number) == no_request  # accepted once, not twice

    # The rotation now shows lina, and sam can no longer hand the session on.
    shown = await run(omar, "rotation show", circle=CIRCLE)
    assert f"{when}: {lina.mention} (backup: {sam.mention})" in shown
    assert await run(sam, "rotation swap", circle=CIRCLE, member=lina.mention) == not_yours

    # At the start, the prompt goes to lina, who agreed to lead it, though she is not in the rotation herself.
    clock.advance(timedelta(hours=30))  # Tuesday 18:00 UTC, 19:00 in Berlin
    await world.app.scheduler.run_due()
    await world.drain()
    prompt = t("en", "session.prompt", circle=CIRCLE, open=f"/session open {CIRCLE}")
    assert _dms(lina)[-1] == prompt
    assert prompt not in _dms(sam)
    opened = await run(lina, "session open", circle=CIRCLE)
    assert CIRCLE in opened
    assert len(world.general.threads) == 1


async def test_with_three_in_the_rotation_an_accepted_swap_still_holds_at_the_start(world: World) -> None:
    """The one who accepts counts the session as theirs already, so a fresh "two fairest" choice at the start would
    pass them over and hand the session to the backup; the start keeps the swap someone agreed to."""
    t = catalogue().t
    clock = world.app.clock
    assert isinstance(clock, ManualClock)
    mona = world.member("mona", world.mod_role)
    people = {member.mention: member for member in (world.member("sam"), world.member("lina"), world.member("noah"))}

    async def run(who: simcord.MemberActor, name: str, /, **args: Any) -> str:
        return ephemeral_text(await who.slash(world.general, " ".join(PATHS[name]), **args))

    await run(mona, "circle create", name=CIRCLE)
    for person in people.values():
        await run(person, "circle join", circle=CIRCLE)
        await run(person, "facilitate volunteer", circle=CIRCLE)
        await run(mona, "facilitate train", circle=CIRCLE, member=person.mention)
    await run(mona, "circle schedule-set", circle=CIRCLE, rule=RULE)
    first = (await run(mona, "rotation show", circle=CIRCLE)).splitlines()[1]
    found = re.fullmatch(r"• Tue 2026-01-06 18:00 \(UTC\): (<@\d+>) \(backup: (<@\d+>)\)", first)
    assert found, first
    lead, backup = people[found.group(1)], people[found.group(2)]
    (third,) = (person for person in people.values() if person not in (lead, backup))

    await run(lead, "rotation swap", circle=CIRCLE, member=third.mention)
    number = re.findall(r"/rotation accept (\d+)", _dms(third)[-1])[-1]
    assert await run(third, "rotation accept", request=number) == t("en", "rotation.swap.accepted", circle=CIRCLE)
    clock.advance(timedelta(hours=30))  # the start
    await world.app.scheduler.run_due()
    await world.drain()
    prompt = t("en", "session.prompt", circle=CIRCLE, open=f"/session open {CIRCLE}")
    assert _dms(third)[-1] == prompt
    assert prompt not in _dms(lead)
    assert prompt not in _dms(backup)
