"""Every command of the catalogue typed in a Matrix room, answered by one running bot on a real Synapse.

One bot and a handful of people serve the whole module (starting a bot per command would cost seconds each). The
success cases run in catalogue order and some build on earlier ones (a circle joined, then left; an alert raised by
``support``, then claimed and resolved); the error cases are generated from each command's declaration. The
session commands are driven by a whole scheduled session, with the bot's clock moved by hand.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from bot.app import Application
from bot.catalogue import build_catalogue
from bot.clock import ManualClock
from bot.commands import Command, OptionKind
from bot.i18n import catalogue
from bot.model import Role
from bot.ratelimit import RateLimiter
from tests.matrix.people import Person, Seen, matrix_settings
from tests.matrix.synapse import Account, Synapse

pytestmark = pytest.mark.asyncio(loop_scope="module")

CATALOGUE = build_catalogue()
MESSAGES = catalogue()

SESSION_FLOW = frozenset({"session open", "session close", "session here", "session rsvp", "session feedback"})
"""Commands that need a session in progress: exercised by the scheduled session at the end of this module."""

SWAP_FLOW = frozenset({"rotation swap", "rotation accept"})
"""Commands that need the asker to lead the next session and a request to be waiting: exercised by the swap test,
which builds that state and checks what each of the two facilitators sees."""


def _error_prefixes() -> list[str]:
    """The fixed opening words of every generic error message (``error.*`` in the English catalogue)."""
    prefixes = []
    for key in MESSAGES.keys("en"):
        if key.startswith("error."):
            head = MESSAGES.template("en", key).split("{", 1)[0].strip()
            if len(head) >= 6:
                prefixes.append(head)
    return prefixes


ERROR_PREFIXES = _error_prefixes()
NOT_ALLOWED = {
    role: MESSAGES.t("en", "error.not_allowed", role=MESSAGES.t("en", f"role_phrase.{role.label}"))
    for role in (Role.MODERATOR, Role.ADMIN)
}


def _is_error(body: str) -> bool:
    return any(body.startswith(prefix) for prefix in ERROR_PREFIXES)


@dataclass
class Bench:
    """The module's running bot and the people who talk to it."""

    synapse: Synapse
    app: Application
    clock: ManualClock
    bot: str
    admin: Person
    mod: Person
    alice: Person
    bob: Person
    carol: Person
    general: str
    moderators: str
    facts: dict[str, str] = field(default_factory=dict)

    def who(self, name: str) -> Person:
        person: Person = getattr(self, name)
        return person

    async def ask(self, person: Person, text: str, *, within: float = 10.0) -> Seen:
        """Type ``text`` in the general room; the bot's first answer to ``person`` (never the moderators' room)."""
        await _settle(person)
        person._read = len(person.seen)  # only what arrives from now on
        await person.say(self.general, text)
        return await person.expect(
            lambda s: s.sender == self.bot and s.room_id != self.moderators and s.content.get("msgtype") == "m.notice",
            within=within,
        )


async def _settle(person: Person, quiet: float = 0.2, within: float = 3.0) -> None:
    """Wait (bounded) until nothing new has reached ``person`` for ``quiet`` seconds, so a private notice from an
    earlier command (a training notice, a seat offered) is not taken for the answer to the next one."""
    deadline = time.monotonic() + within
    seen = len(person.seen)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # polling the person's own inbox
        if len(person.seen) != seen:
            seen, quiet_since = len(person.seen), time.monotonic()
        elif time.monotonic() - quiet_since >= quiet:
            return


async def _power(admin: Person, room_id: str, levels: dict[str, int]) -> None:
    current = await admin.client.room_get_state_event(room_id, "m.room.power_levels")
    content = dict(current.content)  # type: ignore[union-attr]
    content["users"] = {**content.get("users", {}), **levels}
    await admin.client.room_put_state(room_id, "m.room.power_levels", content)


async def _start(app: Application, within: float = 15.0) -> asyncio.Task[int]:
    task = asyncio.create_task(app.run())
    deadline = time.monotonic() + within
    while not (app.adapters and all(adapter.ready for adapter in app.adapters)):
        assert not task.done(), f"the application ended early with {task.result()}"
        assert time.monotonic() < deadline, "the Matrix adapter did not become ready"
        await asyncio.sleep(0.05)  # polling readiness
    return task


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bench(synapse: Synapse, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bench]:
    """Admin (power 100), moderator (power 50), alice, bob and carol in a general room; a moderators' room; the bot
    running with a manual clock near real time; two circles and an archivable one created by the admin."""
    tag = f"c{time.monotonic_ns() % 10**9}"
    bot: Account = synapse.register(f"bot{tag}")
    names = ("admin", "mod", "alice", "bob", "carol")
    people = {name: Person(synapse.url, synapse.register(f"{name}{tag}")) for name in names}
    admin, mod = people["admin"], people["mod"]
    others = [p.user_id for n, p in people.items() if n != "admin"]
    general = await admin.create_room("General", [bot.user_id, *others], room_version="11")
    moderators = await admin.create_room("Moderators", [bot.user_id, mod.user_id], room_version="11")
    for name, person in people.items():
        if name != "admin":
            await person.join(general)
    await mod.join(moderators)
    await _power(admin, general, {mod.user_id: 50})
    await _power(admin, moderators, {mod.user_id: 50})
    for person in people.values():
        await person.start()
    settings = matrix_settings(
        tmp_path_factory.mktemp("catalogue"), synapse.url, bot, rooms=[general], moderators=moderators
    )
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    app = Application(settings, clock=clock)
    # Time is moved by hand here (the session test fires timers itself): a background scheduler loop would send
    # facilitator notices at moments of its own, and a notice could be taken for the answer to a command.
    app.run_scheduler_loop = False
    app.engine.limiter = RateLimiter(per_minute=100_000, burst=10_000)  # a test types faster than any person
    task = await _start(app)
    world = Bench(synapse, app, clock, bot.user_id, general=general, moderators=moderators, **people)
    try:
        for person, line in (
            (admin, '!circle create "Evening circle"'),
            (admin, '!circle create "Spare circle"'),
            (admin, '!circle create "Archive me"'),
            (admin, '!circle schedule-set "Evening circle" weekly mon 10:00 UTC 60m'),
            (people["bob"], '!circle join "Evening circle"'),
            (people["alice"], '!circle join "Evening circle"'),
        ):
            answer = await world.ask(person, line)
            assert not _is_error(answer.body), answer.body
        yield world
    finally:
        app.request_stop()
        assert await asyncio.wait_for(task, timeout=20) == 0
        for person in people.values():
            await person.close()


def _day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def _next_monday(weeks: int = 0) -> str:
    today = datetime.now(UTC).date()
    ahead = (7 - today.weekday()) % 7 or 7
    return (today + timedelta(days=ahead + 7 * weeks)).isoformat()


# name -> (who, arguments, a fragment the answer contains). {alert} is filled from the alert raised by `support`.
SUCCESS: dict[str, tuple[str, str, str]] = {
    "circle create": ("admin", '"Created circle" topic="Just testing"', "Created the public circle"),
    "circle list": ("bob", "", "Evening circle"),
    "circle info": ("bob", '"Evening circle"', "Seats:"),
    "circle join": ("bob", '"Spare circle"', "Welcome to"),
    "circle leave": ("bob", '"Spare circle"', "You have left"),
    "circle archive": ("admin", '"Archive me"', "Archived"),
    "circle schedule-set": ("mod", '"Spare circle" weekly mon 10:00 UTC 60m', "now meets"),
    "circle schedule": ("bob", '"Spare circle"', "10:00"),
    "session cancel": ("mod", f'"Spare circle" {_next_monday()}', "Spare circle"),
    "session move": ("mod", f'"Spare circle" {_next_monday(1)} {_next_monday(1)} 11:00', "Spare circle"),
    "circle schedule-clear": ("mod", '"Spare circle"', "Spare circle"),
    "facilitate volunteer": ("bob", '"Evening circle"', "Evening circle"),
    "facilitate away": ("bob", f'"Evening circle" {_day(30)} {_day(31)}', "Noted"),
    "facilitate step-down": ("bob", '"Evening circle"', "out of the rotation"),
    "facilitate train": ("mod", '"Evening circle" {bob}', "trained"),
    "rotation show": ("bob", '"Evening circle"', ""),
    "rotation set": ("mod", '"Evening circle" {bob}', "will facilitate"),
    "checkin": ("bob", "3 a quiet day", ""),
    "checkin history": ("bob", "", ""),
    "checkin summary": ("mod", '"Evening circle"', ""),
    "checkin nudges": ("bob", "off", ""),
    "checkin share-name": ("bob", "off", ""),
    "support": ("bob", "I would like to talk with someone", ""),
    "resources": ("bob", "", ""),
    "resources suggest": ("bob", "Local listening line, 0800 000 000", ""),
    "alert list": ("mod", "", "{alert}"),
    "alert claim": ("mod", "{alert}", "{alert}"),
    "alert resolve": ("mod", "{alert}", "{alert}"),
    "me language": ("bob", "en", ""),
    "me timezone": ("bob", "Europe/London", "Europe/London"),
    "me reminders": ("bob", "on", ""),
    "me export": ("bob", "", "I hold about you"),
    "me forget": ("carol", "", "confirm"),
    "admin setup": ("admin", "", ""),
    "admin set": ("admin", "name Test community", "Test community"),
    "admin show": ("mod", "", ""),
    "admin status": ("mod", "", "matrix"),
    "help": ("bob", "", "circle join"),
}


SIDE_NOTICES = {
    "facilitate train": ("bob", "trained facilitator"),
    "rotation set": ("bob", "asked you to facilitate"),
}
"""Commands that also message another person privately, and what that message says."""


def _success_params() -> list[Any]:
    return [pytest.param(CATALOGUE.commands[name].name, id=name.replace(" ", "-")) for name in SUCCESS]


def test_every_command_has_a_success_case_or_is_driven_by_a_flow() -> None:
    names = {command.name for command in CATALOGUE if not command.console_only}
    driven = SESSION_FLOW | SWAP_FLOW
    assert not SESSION_FLOW & SWAP_FLOW
    assert names - driven == set(SUCCESS), (names - driven) ^ set(SUCCESS)
    assert names >= driven


def _fill(text: str, bench: Bench) -> str:
    people = {name: bench.who(name).user_id for name in ("alice", "bob", "carol")}
    return text.format(alert=bench.facts.get("alert", "0"), **people)


@pytest.mark.parametrize("name", _success_params())
async def test_each_command_succeeds_in_matrix(bench: Bench, name: str) -> None:
    who, args, fragment = SUCCESS[name]
    answer = await bench.ask(bench.who(who), _fill(f"!{name} {args}".strip(), bench))
    assert not _is_error(answer.body), answer.body
    assert not answer.body.startswith("Only "), answer.body
    assert answer.content["format"] == "org.matrix.custom.html"
    assert _fill(fragment, bench) in answer.body, answer.body
    if name in SIDE_NOTICES:  # another person is told privately: wait for it, so it is not read as a later answer
        person, phrase = SIDE_NOTICES[name]
        await bench.who(person).expect(lambda s: s.sender == bench.bot and phrase in s.body)
    if name == "support":  # the moderators hear of it: its number serves the alert commands
        alert = await bench.mod.expect(lambda s: s.sender == bench.bot and s.room_id == bench.moderators)
        found = re.search(r"!alert claim (\d+)", alert.body)
        assert found, alert.body
        bench.facts["alert"] = found.group(1)


def _error_case(command: Command) -> tuple[str, str]:
    """Arguments that are wrong for the declaration, and the start of the error they must bring."""
    required = [option for option in command.options if option.required]
    if required:
        return "", MESSAGES.t("en", "error.arg_missing_usage", option=required[0].name, usage="!" + command.usage())
    choice = next((option for option in command.options if option.kind is OptionKind.CHOICE), None)
    if choice is not None:
        return "zzz", MESSAGES.template("en", "error.arg_bad_choice").split("{", 1)[0]
    if not command.options:
        return "surplus", MESSAGES.template("en", "error.arg_surplus").split("{", 1)[0]
    special = {
        "me timezone": ("Mars/Olympus", "Mars/Olympus"),
        "help": ("nonsense", MESSAGES.t("en", "help.unknown_topic", topic="nonsense", hint="!help").split(".")[0]),
        "support": ('"unbalanced', MESSAGES.t("en", "error.unbalanced_quotes")),
    }
    return special[command.name]


@pytest.mark.parametrize(
    "name", [pytest.param(c.name, id=c.name.replace(" ", "-")) for c in CATALOGUE if not c.console_only]
)
async def test_each_command_explains_a_wrong_use(bench: Bench, name: str) -> None:
    command = CATALOGUE.commands[name]
    args, expected = _error_case(command)
    person = bench.admin if command.min_role > Role.MEMBER else bench.bob
    answer = await bench.ask(person, f"!{name} {args}".strip())
    assert expected in answer.body, (expected, answer.body)


@pytest.mark.parametrize(
    "name",
    [pytest.param(c.name, id=c.name.replace(" ", "-")) for c in CATALOGUE if c.min_role > Role.MEMBER],
)
async def test_each_guarded_command_refuses_a_member(bench: Bench, name: str) -> None:
    command = CATALOGUE.commands[name]
    words = []
    for option in command.options:
        if option.required:
            words.append(option.choices[0] if option.kind is OptionKind.CHOICE else "1")
    answer = await bench.ask(bench.bob, f"!{name} {' '.join(words)}".strip())
    assert answer.body == NOT_ALLOWED[command.min_role], answer.body


async def test_a_moderator_at_power_50_is_not_an_admin(bench: Bench) -> None:
    answer = await bench.ask(bench.mod, "!admin set name Elsewhere")
    assert answer.body == NOT_ALLOWED[Role.ADMIN]


async def _fire_due(bench: Bench, delta: timedelta) -> None:
    """Move the bot's clock and run what fell due, as the scheduler and the outbox would."""
    bench.clock.advance(delta)
    await bench.app.scheduler.run_due()
    await bench.app.deliverer.drain()


async def _train(bench: Bench, circle: str, person: Person) -> None:
    """The moderator confirms ``person``, named by their Matrix id, as a trained facilitator; they are told
    privately (waited for, so that notice is never read as the answer to a later command)."""
    answer = await bench.ask(bench.mod, f'!facilitate train "{circle}" {person.user_id}')
    assert answer.body == MESSAGES.t("en", "rotation.train.done", member=person.user_id, circle=circle), answer.body
    notice = await person.expect(lambda s: s.sender == bench.bot and "trained facilitator" in s.body)
    assert notice.room_id not in (bench.general, bench.moderators), notice.body


def _private(bench: Bench, seen: Seen) -> bool:
    """Sent by the bot, as a notice, outside the shared rooms: in the person's direct-message room."""
    return (
        seen.sender == bench.bot
        and seen.room_id not in (bench.general, bench.moderators)
        and seen.content.get("msgtype") == "m.notice"
    )


async def test_a_facilitator_swaps_the_next_session_and_the_other_accepts(bench: Bench) -> None:
    """alice leads the next session of a new circle; bob (trained, not in the rotation) is asked by his Matrix id,
    sees the request in his direct messages, accepts it, and the rotation then shows him; the wrong uses on the way
    are refused with their own messages."""
    admin, mod, alice, bob, carol = bench.admin, bench.mod, bench.alice, bench.bob, bench.carol
    circle = "Swap circle"
    t = MESSAGES.t
    assert not _is_error((await bench.ask(admin, f'!circle create "{circle}"')).body)
    for person in (alice, bob, carol):
        assert not _is_error((await bench.ask(person, f'!circle join "{circle}"')).body)
    assert not _is_error((await bench.ask(alice, f'!facilitate volunteer "{circle}"')).body)
    await _train(bench, circle, alice)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(bench.clock.now() + timedelta(days=3)).weekday()]
    scheduled = await bench.ask(mod, f'!circle schedule-set "{circle}" weekly {day} 10:00 UTC 60m')
    assert not _is_error(scheduled.body), scheduled.body
    await _train(bench, circle, bob)  # trained after the planning, and not volunteering: the session stays alice's
    shown = await bench.ask(carol, f'!rotation show "{circle}"')
    first = shown.body.splitlines()[1]
    assert first.endswith(f": {alice.user_id} (backup: {t('en', 'rotation.show.nobody')})"), shown.body

    # Wrong uses: nothing is waiting for bob yet, and only the session's facilitator may hand it on.
    nothing = await bench.ask(bob, "!rotation accept 1")
    assert nothing.body == t("en", "rotation.error.no_request", id="1"), nothing.body
    not_yours = t("en", "rotation.error.not_yours", circle=circle)
    assert (await bench.ask(bob, f'!rotation swap "{circle}" {alice.user_id}')).body == not_yours
    assert (await bench.ask(carol, f'!rotation swap "{circle}" {bob.user_id}')).body == not_yours
    untrained = await bench.ask(alice, f'!rotation swap "{circle}" {carol.user_id}')
    assert untrained.body == t("en", "rotation.error.not_trained", member=carol.user_id, circle=circle)
    stranger = "@nobody-here:localhost"
    unknown = await bench.ask(alice, f'!rotation swap "{circle}" {stranger}')
    assert unknown.body == t("en", "rotation.error.unknown_member", member=stranger), unknown.body

    # alice asks bob: she is answered privately, and he is asked in his direct messages.
    bob._read = len(bob.seen)
    asked = await bench.ask(alice, f'!rotation swap "{circle}" {bob.user_id}')
    assert asked.body == t("en", "rotation.swap.asked", member=bob.user_id), asked.body
    assert _private(bench, asked)
    assert asked.content["format"] == "org.matrix.custom.html"
    request = await bob.expect(lambda s: _private(bench, s) and "asks you to facilitate" in s.body)
    assert request.body.startswith(f'{alice.user_id} asks you to facilitate "{circle}" on '), request.body
    found = re.search(r"To accept: !rotation accept (\d+)$", request.body)
    assert found, request.body
    number = found.group(1)

    # Someone else cannot take it; bob can, and alice hears so privately.
    refused = await bench.ask(carol, f"!rotation accept {number}")
    assert refused.body == t("en", "rotation.error.no_request", id=number), refused.body
    alice._read = len(alice.seen)
    accepted = await bench.ask(bob, f"!rotation accept {number}")
    assert accepted.body == t("en", "rotation.swap.accepted", circle=circle), accepted.body
    assert _private(bench, accepted)
    told = await alice.expect(lambda s: _private(bench, s) and "accepted" in s.body)
    # The session's time reads in alice's own zone, which another test may have set.
    head, tail = t("en", "rotation.swap.done", who=bob.user_id, circle=circle, when="\0").split("\0")
    assert told.body.startswith(head), told.body
    assert told.body.endswith(tail), told.body
    assert re.fullmatch(r"\w+ \d{4}-\d\d-\d\d \d\d:\d\d \(.+\)", told.body[len(head) : -len(tail)]), told.body
    again = await bench.ask(bob, f"!rotation accept {number}")
    assert again.body == t("en", "rotation.error.no_request", id=number), again.body

    # The rotation shows bob leading, alice as his backup; alice no longer leads, so she cannot swap again.
    shown = await bench.ask(carol, f'!rotation show "{circle}"')
    assert shown.body.splitlines()[1].endswith(f": {bob.user_id} (backup: {alice.user_id})"), shown.body
    assert (await bench.ask(alice, f'!rotation swap "{circle}" {bob.user_id}')).body == not_yours


async def test_a_scheduled_session_runs_from_prompt_to_feedback(bench: Bench) -> None:
    admin, mod, alice, bob, bot = bench.admin, bench.mod, bench.alice, bench.bob, bench.bot
    circle = "Session circle"
    assert "Session circle" in (await bench.ask(admin, f'!circle create "{circle}"')).body
    for person in (alice, bob):
        assert not _is_error((await bench.ask(person, f'!circle join "{circle}"')).body)
    assert not _is_error((await bench.ask(alice, f'!facilitate volunteer "{circle}"')).body)
    await _train(bench, circle, alice)
    # Five minutes from the bot's now, on today's weekday, in UTC.
    start = bench.clock.now() + timedelta(minutes=5)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[start.weekday()]
    rule = f'"{circle}" weekly {day} {start:%H:%M} UTC 60m'
    scheduled = await bench.ask(mod, f"!circle schedule-set {rule}")
    assert not _is_error(scheduled.body), scheduled.body
    await bench.app.scheduler.plan_all()
    rsvp = await bench.ask(bob, f'!session rsvp "{circle}"')
    assert not _is_error(rsvp.body), rsvp.body

    # The start falls due: the trained facilitator is told, by direct message, to open the session.
    alice._read = len(alice.seen)
    await _fire_due(bench, timedelta(minutes=6))
    prompt = await alice.expect(lambda s: s.sender == bot and "It's time" in s.body)
    assert prompt.room_id not in (bench.general, bench.moderators)
    assert f"!session open {circle}" in prompt.body

    # A member cannot open it; the facilitator can, and the session gets a room of its own.
    refused = await bench.ask(bob, f'!session open "{circle}"')
    assert refused.body.startswith("Only the facilitators"), refused.body
    bob._read = len(bob.seen)
    opened = await bench.ask(alice, f'!session open "{circle}"')
    assert not _is_error(opened.body), opened.body
    space = await bob.expect(
        lambda s: s.sender == bot and s.room_id not in (bench.general, bench.moderators) and "agreements" in s.body,
        within=15,
    )
    session_room = space.room_id
    # The answer (the welcome in the new room may come first) links to the new room, not the bot's internal space id.
    answer = opened
    if answer.room_id == session_room:
        answer = await alice.expect(lambda s: s.sender == bot and s.room_id != session_room)
    assert f"https://matrix.to/#/{session_room}" in answer.body, answer.body
    assert "session-" not in answer.body, answer.body
    history = await bench.app.adapters[0].client.room_get_state_event(  # type: ignore[attr-defined]
        session_room, "m.room.history_visibility"
    )
    assert history.content["history_visibility"] == "invited"

    # Members speak in it and say they are here.
    await bob.say(session_room, "Hello everyone, glad to be here")
    alice._read = len(alice.seen)
    await alice.expect(lambda s: s.sender == bob.user_id and s.room_id == session_room)
    here = await bench.ask(bob, f'!session here "{circle}"')
    assert "here" in here.body, here.body

    # The facilitator closes it: the room is archived (read-only) and the members are invited to give feedback.
    bob._read = len(bob.seen)
    alice._read = len(alice.seen)
    await alice.say(bench.general, f'!session close "{circle}"')
    closed = await alice.expect(lambda s: s.sender == bot and s.body.startswith("Closed"))
    assert closed.room_id not in (bench.general, session_room), closed.body
    await bob.expect(lambda s: s.sender == bot and s.room_id == session_room and "read-only" in s.body)
    bob._read = 0
    thanks = await bob.expect(lambda s: s.sender == bot and "Thank you for coming" in s.body)
    assert thanks.room_id not in (bench.general, bench.moderators, session_room)
    levels = await bench.app.adapters[0].client.room_get_state_event(  # type: ignore[attr-defined]
        session_room, "m.room.power_levels"
    )
    assert levels.content["events_default"] == 100
    feedback = await bench.ask(bob, f'!session feedback "{circle}" 4 it helped')
    assert "saved" in feedback.body, feedback.body
    again = await bench.ask(bob, f'!session feedback "{circle}" 5')
    assert "already given feedback" in again.body, again.body
