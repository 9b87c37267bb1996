"""The shared permissions table (tests/permissions_table.py) on Discord (simcord, the real discord.py, slash commands)
and on Matrix (a real Synapse, ``!`` commands). The console runs the same table in tests/e2e/test_permissions.py.

Each platform maps its own permissions to engine roles, and each mapping is exercised: on Discord the server owner
and a configured role (one run), Administrator and Manage Server (another run) make the admin and the moderator, and
a configured role the facilitators; on Matrix power levels 100 and 50 and, in the same run, the configured user lists
make the admin and the moderator, and the configured list the facilitators. The outsider is the admin of a second
server or room. The engine's answer is read twice: the error key it rendered (recorded) and the text that reached the
platform. After the table, every message the run sent is checked for pings (Discord) and markup (Matrix).
"""

from __future__ import annotations

import asyncio
import contextvars
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord
from sqlalchemy import func, select

from bot.adapters.discord import DiscordAdapter, create_adapter
from bot.adapters.discord.commands import slash_paths
from bot.adapters.discord.prompts import CONFIRMATIONS
from bot.app import Application
from bot.catalogue import build_catalogue
from bot.clock import ManualClock
from bot.commands import OptionKind
from bot.config import Settings
from bot.engine import Engine
from bot.errors import UserError
from bot.ratelimit import RateLimiter
from bot.storage.models import Escalation
from tests.matrix import conftest as matrix_conftest
from tests.matrix.people import Person
from tests.matrix.synapse import Account, Synapse
from tests.permissions_table import (
    ACTORS,
    ALERT_NOTE,
    EVENING,
    MORNING,
    NOT_SEATED,
    OPEN,
    ORDER,
    SECRET,
    TABLE,
    Actor,
    args_for,
    command_text,
    mismatch,
)

synapse = matrix_conftest.synapse
"""The homeserver fixture of tests/matrix (one Synapse per module that uses it outside that folder)."""

CATALOGUE = build_catalogue()
PATHS = slash_paths(CATALOGUE)
HOME_ID = 333333333333333333
AWAY_ID = 444444444444444444
TOKEN = "test-token-not-a-real-one"


def test_every_command_has_a_row_with_valid_arguments() -> None:
    """A new command without a row fails here (and the three platform tests would not run it)."""
    assert set(TABLE) == set(CATALOGUE.commands), set(TABLE) ^ set(CATALOGUE.commands)
    assert len(ORDER) == len(TABLE)
    for name, row in TABLE.items():
        command = CATALOGUE.commands[name]
        declared = {option.name for option in command.options}
        required = {option.name for option in command.options if option.required}
        assert set(row.args) <= declared, (name, set(row.args) - declared)
        assert required <= set(row.args), (name, required - set(row.args))
        assert len(row.outcomes) == len(ACTORS), name


def test_the_table_says_what_the_issue_asks() -> None:
    """Members cannot open sessions, change settings, see others' check-ins, claim alerts or read the moderators'
    business; a facilitator of one circle has no power over another, nor over their own once they left it (and is
    told why); an outsider never finds this community's circles or alerts. (The table is data: this guards it
    against being loosened by mistake.)"""
    for name in ("session open", "session close", "session cancel", "session move", "checkin summary"):
        assert TABLE[name].outcome(Actor.MEMBER) != "allowed", name
        assert TABLE[name].outcome(Actor.OTHER_FACILITATOR) != "allowed", name
        assert TABLE[name].outcome(Actor.FORMER_FACILITATOR) != "allowed", name
        assert TABLE[name].outcome(Actor.FACILITATOR) == "allowed", name
    for name in ("session open", "session close", "session cancel", "session move"):
        assert TABLE[name].outcome(Actor.FORMER_FACILITATOR) == NOT_SEATED, name
    member_refused = ("admin set", "admin setup", "admin show", "admin status", "alert list", "alert claim")
    for name in (*member_refused, "alert resolve", "circle archive", "circle schedule-set", "facilitate train"):
        for actor in (Actor.MEMBER, Actor.FACILITATOR, Actor.OTHER_FACILITATOR, Actor.FORMER_FACILITATOR):
            assert TABLE[name].outcome(actor) != "allowed", (name, actor)
    for name, row in TABLE.items():
        if "circle" in row.args or "id" in row.args:
            assert row.outcome(Actor.OUTSIDER) != "allowed", name
    assert SECRET in TABLE["checkin history"].hidden
    assert SECRET in TABLE["checkin summary"].hidden


def _record_errors(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> list[str]:
    keys: list[str] = []
    render = engine._render_error

    def recording(locale: str, error: UserError, prefix: str) -> str:
        keys.append(error.key)
        return render(locale, error, prefix)

    monkeypatch.setattr(engine, "_render_error", recording)
    return keys


async def _latest_alert(app: Application) -> str:
    async with app.database.transaction() as session:
        alert = await session.scalar(select(func.max(Escalation.id)))
    assert alert is not None, "set-up raised no alert"
    return str(alert)


# -- Discord ----------------------------------------------------------------------------------------------------------


def _discord_settings(data_dir: Path, url: str, home: dict[str, Any], away: dict[str, Any]) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": str(data_dir),
            "database": {"url": url},
            "platforms": {"console": {"enabled": False}, "discord": {"enabled": True, "token": TOKEN}},
            "communities": [
                {
                    "id": "home",
                    "platform": "discord",
                    "name": "Home",
                    "guild_id": str(HOME_ID),
                    "country": "GB",
                    **home,
                },
                {
                    "id": "away",
                    "platform": "discord",
                    "name": "Away",
                    "guild_id": str(AWAY_ID),
                    "country": "GB",
                    **away,
                },
            ],
        }
    )


@dataclass
class DiscordWorld:
    env: simcord.Env
    app: Application
    adapter: DiscordAdapter
    people: dict[Actor, simcord.MemberActor]
    channels: dict[Actor, simcord.ChannelHandle]


@asynccontextmanager
async def two_servers(tmp_path: Path, template: Path, mapping: str) -> AsyncIterator[DiscordWorld]:
    """A home server and an away server whose owner is the outsider; the bot configured for both.

    ``mapping`` says where the home server's moderator and admin get their roles: ``configured`` (a role listed in
    the configuration, and the server's owner) or ``permissions`` (a role with Manage Server, and one with
    Administrator, neither configured). The facilitators always hold the configured facilitator role."""
    database = tmp_path / "peer-circles.db"
    shutil.copy(template, database)
    url = f"sqlite+aiosqlite:///{database}"
    app = Application(_discord_settings(tmp_path, url, {}, {}), clock=ManualClock())
    adapter = create_adapter(app)
    env = simcord.Env(adapter.client)
    ada, outsider = env.create_user("ada"), env.create_user("intruder")
    home = env.create_guild("Peer support", id=HOME_ID, owner=ada if mapping == "configured" else None)
    general = home.create_text_channel("general")
    moderators = home.create_text_channel("moderators")
    configured = mapping == "configured"
    mods = home.create_role("Moderators", permissions=None if configured else discord.Permissions(manage_guild=True))
    admins = home.create_role("Admins", permissions=discord.Permissions(administrator=True))
    facilitators = home.create_role("Facilitators")
    away = env.create_guild("Elsewhere", id=AWAY_ID, owner=outsider)
    lobby = away.create_text_channel("lobby")
    roles = {"moderator": [str(mods.id)] if configured else [], "facilitator": [str(facilitators.id)]}
    app.settings = _discord_settings(
        tmp_path, url, {"moderators": {"destination": str(moderators.id)}, "roles": roles}, {}
    )
    await app.prepare()
    await env.start()
    people = {
        Actor.MEMBER: home.add_member(env.create_user("amal")),
        Actor.FACILITATOR: home.add_member(env.create_user("farah"), roles=[facilitators]),
        Actor.OTHER_FACILITATOR: home.add_member(env.create_user("omar"), roles=[facilitators]),
        Actor.FORMER_FACILITATOR: home.add_member(env.create_user("fadi"), roles=[facilitators]),
        Actor.MODERATOR: home.add_member(env.create_user("mona"), roles=[mods]),
        Actor.ADMIN: home.add_member(ada, roles=[] if configured else [admins]),
        Actor.OUTSIDER: away.add_member(outsider),
    }
    channels = {actor: lobby if actor is Actor.OUTSIDER else general for actor in Actor}
    try:
        yield DiscordWorld(env, app, adapter, people, channels)
    finally:
        try:
            await env.shutdown()
        finally:
            await app.database.close()
    env.raise_errors()


def _typed(name: str, args: dict[str, str]) -> dict[str, Any]:
    """Slash-command option values: whole numbers as numbers, the rest as typed."""
    command = CATALOGUE.commands[name]
    typed: dict[str, Any] = {}
    for option_name, value in args.items():
        option = command.option(option_name)
        assert option is not None
        typed[option_name] = int(value) if option.kind is OptionKind.INTEGER else value
    return typed


def _texts(result: simcord.InteractionResult) -> list[str]:
    shown = [result.response] if result.response is not None else []
    return [message.content for message in (*shown, *result.followups)]


async def discord_slash(world: DiscordWorld, actor: Actor, name: str, args: dict[str, str]) -> str:
    """Run a slash command as ``actor``; a command that asks for confirmation first is confirmed."""
    who = world.people[actor]
    result = await who.slash(world.channels[actor], " ".join(PATHS[name]), **_typed(name, args))
    confirmation = CONFIRMATIONS.get(name)
    if confirmation is not None and not confirmation.ask_first and result.response is not None:
        result = await who.click(result.response, label="Confirm")
    return "\n".join(_texts(result))


async def _discord_seed(world: DiscordWorld) -> dict[str, str]:
    people = world.people

    async def run(actor: Actor, command: str, /, **args: str) -> str:
        return await discord_slash(world, actor, command, args)

    for circle in (EVENING, MORNING, OPEN, "Spare moderator", "Spare admin"):
        await run(Actor.MODERATOR, "circle create", name=circle)
    for actor, circles in (
        (Actor.MEMBER, [EVENING]),
        (Actor.FACILITATOR, [EVENING]),
        (Actor.OTHER_FACILITATOR, [MORNING, EVENING]),
        (Actor.FORMER_FACILITATOR, [EVENING]),
    ):
        for circle in circles:
            await run(actor, "circle join", circle=circle)
    for actor, circle in (
        (Actor.FACILITATOR, EVENING),
        (Actor.OTHER_FACILITATOR, MORNING),
        (Actor.FORMER_FACILITATOR, EVENING),
    ):
        await run(actor, "facilitate volunteer", circle=circle)
        trained = await run(Actor.MODERATOR, "facilitate train", circle=circle, member=str(people[actor].id))
        assert "trained" in trained, trained
    assert "left" in await run(Actor.FORMER_FACILITATOR, "circle leave", circle=EVENING)
    await run(Actor.FACILITATOR, "checkin", mood="3", note=SECRET)
    await run(Actor.MEMBER, "support", note=ALERT_NOTE)
    return {"member": str(people[Actor.MEMBER].id), "alert": await _latest_alert(world.app)}


@pytest.mark.parametrize("mapping", ["configured", "permissions"])
async def test_every_command_against_every_role_on_discord(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch, mapping: str
) -> None:
    async with two_servers(tmp_path, sqlite_template, mapping) as world:
        world.app.engine.limiter = RateLimiter(per_minute=100_000, burst=10_000)
        keys = _record_errors(monkeypatch, world.app.engine)
        fill = await _discord_seed(world)
        problems = []
        for name in ORDER:
            for actor in ACTORS:
                keys.clear()
                answer = await discord_slash(world, actor, name, args_for(name, actor, fill))
                problem = mismatch(name, actor, list(keys), answer)
                if problem:
                    problems.append(problem)
        assert not problems, "\n".join(problems)
        await world.env.settle()
        await world.app.deliverer.drain()
        # Every answer, confirmation, direct message and alert of the whole run pinged nobody.
        from tests.property.test_adapter_injection import discord_payloads, ping_problems

        payloads = discord_payloads(world.env)
        assert len(payloads) > len(ORDER) * len(ACTORS)
        assert ping_problems(payloads) == []


# -- Matrix -----------------------------------------------------------------------------------------------------------


class MatrixBot:
    """The running application on Synapse, with every message content it sends to the homeserver recorded: those
    sent while answering a command are grouped by the person who typed it."""

    def __init__(self, app: Application) -> None:
        self.app = app
        adapter = app.adapters[0]
        self.adapter: Any = adapter
        self.sent: list[tuple[str, dict[str, Any]]] = []
        """Every (room id, content) the bot sent, answers or not (alerts from the outbox too)."""
        self.answers: asyncio.Queue[tuple[str, list[dict[str, Any]]]] = asyncio.Queue()
        self._answering: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar(
            "answering", default=None
        )
        client = self.adapter.client
        room_send = client.room_send

        async def recording_send(room_id: str, message_type: str, content: dict[str, Any], *a: Any, **k: Any) -> Any:
            self.sent.append((room_id, content))
            answering = self._answering.get()
            if answering is not None:
                answering.append(content)
            return await room_send(room_id, message_type, content, *a, **k)

        client.room_send = recording_send
        out = self.adapter.out
        perform = out.perform

        async def recording_perform(actions: Any, **kwargs: Any) -> None:
            answer: list[dict[str, Any]] = []
            token = self._answering.set(answer)
            try:
                await perform(actions, **kwargs)
            finally:
                self._answering.reset(token)
                await self.answers.put((kwargs["author"].native_id, answer))

        out.perform = recording_perform

    async def command(self, person: Person, room_id: str, text: str, *, within: float = 15.0) -> list[dict[str, Any]]:
        """Type ``text`` in ``room_id`` as ``person``; the contents the bot sent answering it."""
        await person.say(room_id, text)
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"the bot did not answer {text!r} from {person.user_id}"
            author, contents = await asyncio.wait_for(self.answers.get(), remaining)
            if author == person.user_id:
                return contents


def _matrix_settings(
    data_dir: Path,
    url: str,
    bot: Account,
    home: list[str],
    moderators: str,
    away: list[str],
    roles: dict[str, list[str]],
) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": str(data_dir),
            "platforms": {
                "matrix": {
                    "enabled": True,
                    "homeserver": url,
                    "user_id": bot.user_id,
                    "access_token": bot.access_token,
                    "device_id": "PEERCIRCLESTEST",
                }
            },
            "communities": [
                {
                    "id": "home",
                    "platform": "matrix",
                    "name": "Home",
                    "rooms": home,
                    "country": "GB",
                    "moderators": {"destination": moderators},
                    "roles": roles,
                },
                {"id": "away", "platform": "matrix", "name": "Away", "rooms": away, "country": "GB"},
            ],
        }
    )


@dataclass
class MatrixWorld:
    bot: MatrixBot
    people: dict[Actor, Person]
    rooms: dict[Actor, str]
    general: str
    moderators: str
    listed: dict[Actor, Person]
    """A second moderator and admin at power level 0, who hold their roles from the configured user lists."""

    async def run(self, actor: Actor, text: str, *, listed: bool = False) -> list[dict[str, Any]]:
        person = self.listed[actor] if listed else self.people[actor]
        return await self.bot.command(person, self.rooms[actor], "!" + text)


async def _set_power(admin: Person, room_id: str, levels: dict[str, int]) -> None:
    current = await admin.client.room_get_state_event(room_id, "m.room.power_levels")
    content = dict(current.content)  # type: ignore[union-attr]
    content["users"] = {**content.get("users", {}), **levels}
    await admin.client.room_put_state(room_id, "m.room.power_levels", content)


@asynccontextmanager
async def matrix_world(synapse: Synapse, data_dir: Path) -> AsyncIterator[MatrixWorld]:
    """A home community (a general room where the admin has power 100 and the moderator 50, a second admin and
    moderator at power 0 in the configured user lists, the facilitators in the configured list, and a moderators'
    room) and an away community (a room the outsider created); one bot in both."""
    tag = f"p{time.monotonic_ns() % 10**9}"
    bot = synapse.register(f"bot{tag}")
    names = {
        Actor.MEMBER: "amal",
        Actor.FACILITATOR: "farah",
        Actor.OTHER_FACILITATOR: "omar",
        Actor.FORMER_FACILITATOR: "fadi",
        Actor.MODERATOR: "mona",
        Actor.ADMIN: "ada",
        Actor.OUTSIDER: "intruder",
    }
    people = {actor: Person(synapse.url, synapse.register(f"{name}{tag}")) for actor, name in names.items()}
    listed = {actor: Person(synapse.url, synapse.register(f"listed{actor.value}{tag}")) for actor in LISTED}
    admin, outsider = people[Actor.ADMIN], people[Actor.OUTSIDER]
    members = [p for a, p in people.items() if a not in (Actor.ADMIN, Actor.OUTSIDER)] + list(listed.values())
    insiders = [person.user_id for person in members]
    general = await admin.create_room("General", [bot.user_id, *insiders], room_version="11")
    moderators = await admin.create_room(
        "Moderators", [bot.user_id, people[Actor.MODERATOR].user_id], room_version="11"
    )
    away = await outsider.create_room("Away", [bot.user_id], room_version="11")
    for person in members:
        await person.join(general)
    await _set_power(admin, general, {people[Actor.MODERATOR].user_id: 50})
    for person in [*people.values(), *listed.values()]:
        await person.start()
    roles = {
        "facilitator": [
            people[actor].user_id for actor in (Actor.FACILITATOR, Actor.OTHER_FACILITATOR, Actor.FORMER_FACILITATOR)
        ],
        "moderator": [listed[Actor.MODERATOR].user_id],
        "admin": [listed[Actor.ADMIN].user_id],
    }
    settings = _matrix_settings(data_dir, synapse.url, bot, [general], moderators, [away], roles)
    app = Application(settings, clock=ManualClock(datetime.now(UTC).replace(microsecond=0)))
    app.run_scheduler_loop = False
    app.engine.limiter = RateLimiter(per_minute=100_000, burst=10_000)  # a test types faster than any person
    task = asyncio.create_task(app.run())
    deadline = time.monotonic() + 20
    while not (app.adapters and all(adapter.ready for adapter in app.adapters)):
        assert not task.done(), f"the application ended early with {task.result()}"
        assert time.monotonic() < deadline, "the Matrix adapter did not become ready"
        await asyncio.sleep(0.05)  # polling readiness
    rooms = {actor: away if actor is Actor.OUTSIDER else general for actor in Actor}
    try:
        yield MatrixWorld(MatrixBot(app), people, rooms, general, moderators, listed)
    finally:
        app.request_stop()
        assert await asyncio.wait_for(task, timeout=20) == 0
        for person in [*people.values(), *listed.values()]:
            await person.close()


LISTED = (Actor.MODERATOR, Actor.ADMIN)
SPARES = ("Spare moderator", "Spare admin", "Spare moderator listed", "Spare admin listed")


def _bodies(contents: list[dict[str, Any]]) -> str:
    return "\n".join(str(content.get("body", "")) for content in contents)


async def _matrix_seed(world: MatrixWorld) -> dict[str, str]:
    people = world.people
    for circle in (EVENING, MORNING, OPEN, *SPARES):
        await world.run(Actor.MODERATOR, f'circle create "{circle}"')
    for actor, circles in (
        (Actor.MEMBER, [EVENING]),
        (Actor.FACILITATOR, [EVENING]),
        (Actor.OTHER_FACILITATOR, [MORNING, EVENING]),
        (Actor.FORMER_FACILITATOR, [EVENING]),
    ):
        for circle in circles:
            await world.run(actor, f'circle join "{circle}"')
    for actor, circle in (
        (Actor.FACILITATOR, EVENING),
        (Actor.OTHER_FACILITATOR, MORNING),
        (Actor.FORMER_FACILITATOR, EVENING),
    ):
        await world.run(actor, f'facilitate volunteer "{circle}"')
        trained = await world.run(Actor.MODERATOR, f'facilitate train "{circle}" {people[actor].user_id}')
        assert "trained" in _bodies(trained), _bodies(trained)
    assert "left" in _bodies(await world.run(Actor.FORMER_FACILITATOR, f'circle leave "{EVENING}"'))
    await world.run(Actor.FACILITATOR, f"checkin 3 {SECRET}")
    await world.run(Actor.MEMBER, f"support {ALERT_NOTE}")
    return {"member": people[Actor.MEMBER].user_id, "alert": await _latest_alert(world.bot.app)}


async def test_every_command_against_every_role_on_matrix(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table on one Synapse world; the moderator and admin columns run twice: once for the people whose power
    level (50, 100) makes them so, once for the people at power 0 named in the configured user lists."""
    async with matrix_world(synapse, tmp_path) as world:
        keys = _record_errors(monkeypatch, world.bot.app.engine)
        fill = await _matrix_seed(world)
        problems = []
        for name in ORDER:
            for actor in ACTORS:
                for listed in (False, True) if actor in LISTED else (False,):
                    keys.clear()
                    args = args_for(name, actor, fill)
                    if listed and "circle" in args and args["circle"].startswith("Spare "):
                        args["circle"] += " listed"
                    contents = await world.run(actor, command_text(name, args), listed=listed)
                    problem = mismatch(name, actor, list(keys), _bodies(contents))
                    if problem:
                        problems.append(f"{problem} (from the configured list)" if listed else problem)
        assert not problems, "\n".join(problems)
        # Every notice of the whole run held only the template's markup and mentioned at most the person addressed.
        from tests.property.test_adapter_injection import content_problems

        everyone = {person.user_id for person in [*world.people.values(), *world.listed.values()]}
        sent = [content for _room, content in world.bot.sent]
        assert len(sent) > len(ORDER) * len(ACTORS)
        assert [problem for content in sent for problem in content_problems(content, everyone)] == []
