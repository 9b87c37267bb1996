"""A whole scheduled session on Discord, from the scheduler's first message to the day after, through the real
discord.py in a simulated server (simcord). The bot's clock is moved by hand and the scheduler is run at each moment,
as the running scheduler loop would; nothing sleeps.

The circle meets weekly on Tuesday at 19:00 in Berlin (18:00 UTC) for 90 minutes; the clock starts on Monday
2026-01-05 at 12:00 UTC. With the default scheduling settings that gives: the facilitator's notice at once (the
session is less than 48 h away), reminders at Monday 18:00 and Tuesday 17:45 UTC, the start prompt at Tuesday 18:00,
the automatic close at the end plus 15 minutes (19:45), and the check-in invitation a day after the end (Wednesday
19:30). Each step checks what the members, the facilitator and the moderators see, and what they must not.

tests/discord/test_prompts.py covers attendance from who spoke (once per member, nothing posted); this module relies on
it for the attendance count and does not repeat it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest
import simcord

from bot.adapters.discord.commands import slash_paths
from bot.catalogue import build_catalogue
from bot.clock import ManualClock
from bot.i18n import catalogue
from tests.discord.world import World, ephemeral_text

CIRCLE = "Evening circle"
RULE = "weekly tue 19:00 Europe/Berlin 90m"
MONDAY_NOON = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
START = datetime(2026, 1, 6, 18, 0, tzinfo=UTC)
END = START + timedelta(minutes=90)
PATHS = slash_paths(build_catalogue())
t = catalogue().t


@dataclass
class Circle:
    """The people around one scheduled circle, and how far each one's direct messages have been read."""

    world: World
    clock: ManualClock
    mona: simcord.MemberActor
    """A moderator; not in the circle."""
    fatima: simcord.MemberActor
    """The circle's one trained facilitator, in the rotation."""
    sam: simcord.MemberActor
    lina: simcord.MemberActor
    """A member in Cairo: her times are shown in her own zone."""
    noah: simcord.MemberActor
    """A member who turned reminders off."""
    omar: simcord.MemberActor
    """Someone in the server, not in the circle."""
    read: dict[int, int] = field(default_factory=dict)

    def new_dms(self, member: simcord.MemberActor) -> list[str]:
        """The bot's direct messages to ``member`` since this was last asked."""
        texts = [message.content for message in member.user.dm_channel.history()]
        start = self.read.get(member.id, 0)
        self.read[member.id] = len(texts)
        return texts[start:]

    def everyone(self) -> Iterator[simcord.MemberActor]:
        yield from (self.mona, self.fatima, self.sam, self.lina, self.noah, self.omar)

    def moderators_channel(self) -> list[str]:
        return [message.content for message in self.world.moderators.history()]

    async def run(self, who: simcord.MemberActor, name: str, /, **args: Any) -> str:
        """Run a catalogue command as a slash command; its answer must be private."""
        return ephemeral_text(await who.slash(self.world.general, " ".join(PATHS[name]), **args))

    async def at(self, moment: datetime) -> None:
        """Move the bot's clock to ``moment``, fire what fell due and deliver it, as the running bot would."""
        assert moment >= self.clock.now()
        self.clock.advance(moment - self.clock.now())
        await self.world.app.scheduler.run_due()
        await self.world.drain()

    async def thread(self) -> discord.Thread:
        (handle,) = self.world.general.threads
        fetched = await self.world.adapter.client.fetch_channel(handle.id)
        assert isinstance(fetched, discord.Thread)
        return fetched


async def _scheduled_circle(world: World) -> Circle:
    """The circle, its members and its trained facilitator, scheduled; the facilitator's notice delivered."""
    clock = world.app.clock
    assert isinstance(clock, ManualClock)
    assert clock.now() == MONDAY_NOON
    people = Circle(
        world,
        clock,
        mona=world.member("mona", world.mod_role),
        fatima=world.member("fatima", world.facilitator_role),
        sam=world.member("sam"),
        lina=world.member("lina"),
        noah=world.member("noah"),
        omar=world.member("omar"),
    )
    mona, fatima = people.mona, people.fatima
    await people.run(mona, "circle create", name=CIRCLE)
    for member in (fatima, people.sam, people.lina, people.noah):
        await people.run(member, "circle join", circle=CIRCLE)
    await people.run(people.lina, "me timezone", timezone="Africa/Cairo")
    await people.run(people.noah, "me reminders", reminders="off")

    # fatima offers to facilitate: the moderators are asked to confirm her training, with the command to do it.
    await people.run(fatima, "facilitate volunteer", circle=CIRCLE)
    await world.drain()
    (asked,) = people.moderators_channel()
    assert asked == t(
        "en",
        "rotation.volunteer.moderators",
        who=fatima.mention,
        circle=CIRCLE,
        train=f"/facilitate train {CIRCLE} {fatima.id}",
    )
    await people.run(mona, "facilitate train", circle=CIRCLE, member=str(fatima.id))
    assert people.new_dms(fatima) == [
        t("en", "rotation.train.notice", circle=CIRCLE, volunteer=f"/facilitate volunteer {CIRCLE}")
    ]
    scheduled = await people.run(mona, "circle schedule-set", circle=CIRCLE, rule=RULE)
    assert CIRCLE in scheduled

    # The facilitator's notice falls due at once; members hear nothing yet.
    await people.at(MONDAY_NOON)
    assert people.new_dms(fatima) == [
        t(
            "en",
            "session.notice",
            circle=CIRCLE,
            when="Tue 2026-01-06 18:00 (UTC)",
            backup=t("en", "session.no_backup"),
            open=f"/session open {CIRCLE}",
            swap=f"/rotation swap {CIRCLE}",
        )
    ]
    for member in (people.sam, people.lina, people.noah, people.omar, people.mona):
        assert people.new_dms(member) == [], member.name
    return people


def _reminder(when: str, left: str) -> str:
    return t(
        "en",
        "session.remind",
        circle=CIRCLE,
        when=when,
        left=left,
        rsvp=f"/session rsvp {CIRCLE}",
        off="/me reminders off",
    )


async def _remind_and_start(people: Circle) -> None:
    """The two reminders reach the members who want them, in their own time; the start prompts the facilitator."""
    sam, lina, noah, fatima = people.sam, people.lina, people.noah, people.fatima
    await people.at(START - timedelta(hours=24, minutes=1))
    assert people.new_dms(sam) == []  # a minute early: nothing yet
    await people.at(START - timedelta(hours=24))
    assert people.new_dms(sam) == [_reminder("Tue 2026-01-06 18:00 (UTC)", "in 24 h")]
    assert people.new_dms(lina) == [_reminder("Tue 2026-01-06 20:00 (Africa/Cairo)", "in 24 h")]
    assert people.new_dms(noah) == []  # reminders off
    assert people.new_dms(fatima) == [_reminder("Tue 2026-01-06 18:00 (UTC)", "in 24 h")]  # she is a member too

    confirmed = await people.run(sam, "session rsvp", circle=CIRCLE)
    assert confirmed == t("en", "session.rsvp.done", circle=CIRCLE, when="Tue 2026-01-06 18:00 (UTC)")

    await people.at(START - timedelta(minutes=15))
    assert people.new_dms(sam) == [_reminder("Tue 2026-01-06 18:00 (UTC)", "in 15 min")]
    assert people.new_dms(lina) == [_reminder("Tue 2026-01-06 20:00 (Africa/Cairo)", "in 15 min")]
    assert people.new_dms(noah) == []
    assert people.new_dms(fatima) == [_reminder("Tue 2026-01-06 18:00 (UTC)", "in 15 min")]

    # The start: only the facilitator is prompted, privately, with the command that opens the session.
    await people.at(START)
    assert people.new_dms(fatima) == [t("en", "session.prompt", circle=CIRCLE, open=f"/session open {CIRCLE}")]
    for member in (sam, lina, noah, people.omar, people.mona):
        assert people.new_dms(member) == [], member.name
    assert people.world.general.threads == []  # nothing opens by itself


async def _open(people: Circle) -> discord.Thread:
    """A member cannot open the session; the facilitator does, and the circle gets its private thread."""
    refused = await people.run(people.sam, "session open", circle=CIRCLE)
    assert refused == t("en", "session.error.not_facilitator", circle=CIRCLE)
    opened = await people.run(people.fatima, "session open", circle=CIRCLE)
    thread = await people.thread()
    # The answer names the new thread as a link to it, not the bot's internal space id.
    assert opened == t(
        "en", "session.open.done", circle=CIRCLE, space=f"<#{thread.id}>", close=f"/session close {CIRCLE}"
    ), opened
    assert thread.type is discord.ChannelType.private_thread
    assert thread.name == f"{CIRCLE} (session-1)"
    assert not thread.archived
    assert not thread.locked
    (handle,) = people.world.general.threads
    welcome = t(
        "en",
        "session.open.welcome",
        circle=CIRCLE,
        here=f"/session here {CIRCLE}",
        support="/support",
        resources="/resources",
    )
    # Every member of the circle was added and reads the ground rules; someone outside the circle cannot see it.
    for member in (people.fatima, people.sam, people.lina, people.noah):
        assert [m.content for m in handle.history(viewer=member)] == [welcome], member.name
    for outsider in (people.omar, people.mona):  # the moderator is not in the circle either
        with pytest.raises(simcord.SetupError):
            handle.history(viewer=outsider)
    assert await people.run(people.fatima, "session open", circle=CIRCLE) == t(
        "en", "session.error.already_open", circle=CIRCLE
    )
    return thread


async def test_a_scheduled_session_from_the_first_notice_to_the_day_after(world: World) -> None:
    people = await _scheduled_circle(world)
    await _remind_and_start(people)
    thread = await _open(people)
    sam, lina, noah, fatima, mona = people.sam, people.lina, people.noah, people.fatima, people.mona
    (handle,) = world.general.threads

    # sam speaks in the thread (which marks him present) and, during the session, asks privately for a person.
    await sam.send(handle, "hello everyone, a hard week")
    await world.env.settle()
    asked = await people.run(sam, "support", note="I would like to talk to someone after this")
    assert asked
    await world.drain()
    alert = world.moderators.last_message
    assert alert is not None
    assert alert.content != people.moderators_channel()[0]  # a new alert, for the moderators only
    labels = [child.label for row in alert.components for child in row.children]  # type: ignore[union-attr]
    assert labels == [t("en", "discord.alert.claim"), t("en", "discord.alert.resolve")]
    assert all("talk to someone" not in m.content for m in handle.history())  # nothing of it in the thread

    # The facilitator closes it: a closing word in the thread, which is archived and locked; fatima (who opened
    # it) and sam (who spoke) took part.
    closed = await people.run(fatima, "session close", circle=CIRCLE)
    assert closed == t("en", "session.close.done", circle=CIRCLE, attended=2)
    assert handle.history()[-1].content == t("en", "session.close.closing", circle=CIRCLE)
    thread = await people.thread()
    assert thread.archived
    assert thread.locked
    assert await people.run(fatima, "session close", circle=CIRCLE) == t("en", "session.error.not_open", circle=CIRCLE)

    # Those who took part are invited to give anonymous feedback; the facilitator is also offered a debrief, since
    # someone asked for help during the session (without saying who or what).
    await world.drain()
    feedback = t("en", "session.feedback_invite", circle=CIRCLE, feedback=f"/session feedback {CIRCLE}")
    assert people.new_dms(sam) == [feedback]
    debrief = t("en", "session.debrief", circle=CIRCLE, support="/support", resources="/resources")
    assert people.new_dms(fatima) == [feedback, debrief]
    assert "sam" not in debrief
    assert str(sam.id) not in debrief
    assert people.new_dms(lina) == []
    assert people.new_dms(noah) == []
    given = await people.run(sam, "session feedback", circle=CIRCLE, rating=4, note="it helped")
    assert given == t("en", "session.feedback.done")
    refused = await people.run(lina, "session feedback", circle=CIRCLE, rating=5, note="-")
    assert refused == t("en", "session.error.no_feedback_due", circle=CIRCLE)

    # The automatic close at the end plus grace finds the session closed: nothing more is posted or sent.
    posted = len(handle.history())
    await people.at(END + timedelta(minutes=15))
    assert len(handle.history()) == posted
    assert {member.name: people.new_dms(member) for member in people.everyone()} == {
        member.name: [] for member in people.everyone()
    }

    # The day after, members who want reminders are invited to check in privately; noah (reminders off) is not.
    await people.at(END + timedelta(days=1) - timedelta(minutes=1))
    assert people.new_dms(sam) == []
    await people.at(END + timedelta(days=1))
    invitation = t("en", "care.prompt", circle=CIRCLE, checkin="/checkin", off="/me reminders off")
    for member in (sam, lina, fatima):
        assert people.new_dms(member) == [invitation], member.name
    assert people.new_dms(noah) == []
    assert people.new_dms(people.omar) == []
    assert people.new_dms(mona) == []

    # Over the whole session the moderators' channel held only the volunteer's training request and the alert.
    assert len(people.moderators_channel()) == 2


async def test_a_session_left_open_closes_itself_after_its_end_and_grace(world: World) -> None:
    people = await _scheduled_circle(world)
    await _remind_and_start(people)
    await _open(people)
    sam, lina, fatima = people.sam, people.lina, people.fatima
    (handle,) = world.general.threads
    await sam.send(handle, "hello everyone")
    await world.env.settle()
    posted = len(handle.history())

    # At the end, and until the grace has passed, the session stays open: a late closing word is still possible.
    await people.at(END + timedelta(minutes=14))
    assert len(handle.history()) == posted
    assert {member.name: people.new_dms(member) for member in people.everyone()} == {
        member.name: [] for member in people.everyone()
    }
    assert await people.run(sam, "session here", circle=CIRCLE) == t("en", "session.here.done", circle=CIRCLE)

    # End plus grace: the bot closes it. The members read why in the thread; who took part is invited to feedback.
    await people.at(END + timedelta(minutes=15))
    assert handle.history()[-1].content == t("en", "session.auto_closed", circle=CIRCLE)
    feedback = t("en", "session.feedback_invite", circle=CIRCLE, feedback=f"/session feedback {CIRCLE}")
    assert people.new_dms(sam) == [feedback]
    assert people.new_dms(fatima) == [feedback]  # she opened it, so she was there; no debrief: nothing happened
    assert people.new_dms(lina) == []
    assert await people.run(fatima, "session close", circle=CIRCLE) == t("en", "session.error.not_open", circle=CIRCLE)
    given = await people.run(sam, "session feedback", circle=CIRCLE, rating=5, note="thank you")
    assert given == t("en", "session.feedback.done")
    # The moderators' channel holds only the volunteer's training request: an ordinary session is not reported.
    assert len(people.moderators_channel()) == 1

    # The day after, the check-in invitation comes as after a session closed by hand.
    await people.at(END + timedelta(days=1))
    invitation = t("en", "care.prompt", circle=CIRCLE, checkin="/checkin", off="/me reminders off")
    assert people.new_dms(sam) == [invitation]
    assert people.new_dms(lina) == [invitation]


async def test_an_automatically_closed_session_thread_is_archived_and_locked(world: World) -> None:
    people = await _scheduled_circle(world)
    await _remind_and_start(people)
    await _open(people)
    await people.at(END + timedelta(minutes=15))
    assert world.general.threads[0].history()[-1].content == t("en", "session.auto_closed", circle=CIRCLE)
    thread = await people.thread()
    assert thread.archived
    assert thread.locked
