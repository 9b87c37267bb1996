"""Check-ins through the console: private check-ins and history, the facilitators' anonymous summary, preferences,
and the quiet-member query the scheduler uses (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles.checkins import (
    QuietMember,
    forget_member,
    preference,
    purge_before,
    quiet_members,
)
from bot.clock import ManualClock
from bot.storage import Database
from bot.storage.checkin_models import CheckIn, CheckInPreference
from bot.storage.models import AuditEntry, Circle, Member, Membership, MembershipStatus
from bot.storage.schedule_models import Attendance, CircleSession, Facilitator
from tests.harness import OTHER, Console
from tests.storage.factories import add_circle, add_community, add_member, add_membership

CONCERN = "honestly I want to kill myself"


async def _circle(console: Console, name: str) -> None:
    await console.as_("mod", "moderator")
    assert "Created the" in await console.say(f"!circle create {name}")


async def _join(console: Console, user: str, circle: str) -> None:
    await console.as_(user)
    assert "Welcome to" in await console.say(f"!circle join {circle}")


async def _member(session: AsyncSession, native_id: str) -> Member:
    return (await session.execute(select(Member).where(Member.native_id == native_id))).scalar_one()


async def _facilitate(console: Console, user: str, circle: str, *, trained: bool = True) -> None:
    """Make ``user`` a facilitator of ``circle`` the way the facilitation commands will: a row in facilitators, and a
    seat in the circle (a facilitator without one has no say over it)."""
    async with console.database.transaction() as session:
        member = await _member(session, user)
        row = (await session.execute(select(Circle).where(Circle.name == circle))).scalar_one()
        session.add(Facilitator(circle_id=row.id, member_id=member.id, trained=trained, updated_at=console.clock.now()))
        seated = await session.scalar(
            select(Membership.id).where(Membership.circle_id == row.id, Membership.member_id == member.id)
        )
        if seated is None:
            await add_membership(session, row, member, queued_at=console.clock.now())


async def _stored(console: Console) -> list[tuple[str, int, str | None]]:
    async with console.database.transaction() as session:
        result = await session.execute(
            select(Member.native_id, CheckIn.mood, CheckIn.note)
            .join(Member, Member.id == CheckIn.member_id)
            .order_by(CheckIn.id)
        )
        return [(native_id, mood, note) for native_id, mood, note in result]


# --- checkin -------------------------------------------------------------------------------------------------


async def test_a_check_in_is_private_and_acknowledged_without_judgment(console: Console) -> None:
    await console.as_("amal")
    out = await console.say("!checkin 4 slept well for once")
    assert out == (
        "[private to amal] Thank you for checking in (4 of 5: good). It's good to hear from you. "
        "It's saved privately, just for you; you can see your own trend with !checkin history.\n"
    )
    out = await console.say("!checkin 3")
    assert out == (
        "[private to amal] Thank you for checking in (3 of 5: okay). It's saved privately, just for you. "
        "You can see your own trend with !checkin history.\n"
    )
    assert await _stored(console) == [("amal", 4, "slept well for once"), ("amal", 3, None)]


async def test_low_moods_point_to_people_and_help_without_claiming_to_be_a_counsellor(console: Console) -> None:
    await console.as_("amal")
    for mood, label in ((1, "very low"), (2, "low")):
        out = await console.say(f"!checkin {mood} rough week")
        assert out.startswith(f"[private to amal] Thank you for checking in ({mood} of 5: {label}).")
        assert "you don't have to carry them alone" in out
        assert "I'm a bot, not a counsellor." in out
        assert "type !support" in out
        assert "type !resources" in out
        assert "Your check-in is private to you." in out
        # A low mood alone is not a crisis: nobody else is told.
        assert "[moderators' channel]" not in out
        assert "[direct message" not in out
    for mood in (3, 4, 5):
        out = await console.say(f"!checkin {mood}")
        assert "!support" not in out
        assert "counsellor" not in out


async def test_bad_moods_are_refused_clearly_and_nothing_is_recorded(console: Console) -> None:
    await console.as_("amal")
    cases = {
        "!checkin 0": "mood should be between 1 and 5.",
        "!checkin 6 great": "mood should be between 1 and 5.",
        "!checkin -1": "mood should be between 1 and 5.",
        "!checkin happy": 'mood should be a whole number, not "happy".',
        "!checkin 3.5": 'mood should be a whole number, not "3.5".',
        "!checkin": "Please give mood. Usage: !checkin <mood> [note]",
        "!checkin 3 " + "x" * 501: "note can be at most 500 characters.",
        "!checkin history now": 'I did not expect "now" there. Usage: !checkin history',
    }
    for line, expected in cases.items():
        out = await console.say(line)
        assert out.startswith("[private to amal] "), (line, out)
        assert expected in out, (line, out)
    assert await _stored(console) == []
    assert "You have no check-ins here yet." in await console.say("!checkin history")


async def test_a_blank_note_is_no_note(console: Console) -> None:
    await console.as_("amal")
    for line in ('!checkin 3 "   "', '!checkin 4 "\u200b \u00a0"', "!checkin 2 note="):
        out = await console.say(line)
        assert out.startswith("[private to amal] Thank you for checking in"), (line, out)
    assert await _stored(console) == [("amal", 3, None), ("amal", 4, None), ("amal", 2, None)]
    out = await console.say('!checkin 5 "  trimmed  "')
    assert "Thank you for checking in (5 of 5: very good)." in out
    assert (await _stored(console))[-1] == ("amal", 5, "trimmed")


async def test_a_crisis_phrase_in_a_note_alerts_the_moderators(console: Console) -> None:
    await console.as_("amal")
    out = await console.say(f"!checkin 1 {CONCERN}")
    assert "[private to amal] Thank you for checking in (1 of 5: very low)." in out
    assert "[moderators' channel] ⚠ Concern alert #1: amal" in out
    assert "[direct message to amal] I'm really glad you said something" in out
    # The ordinary words of a hard day do not.
    out = await console.say("!checkin 2 tired and a bit flat")
    assert "[moderators' channel]" not in out


# --- history -------------------------------------------------------------------------------------------------


async def test_history_shows_only_ones_own_check_ins_with_notes_newest_first(console: Console) -> None:
    await console.as_("amal")
    await console.say("!checkin 2 worried about the exam")
    console.clock.advance(timedelta(hours=3))
    await console.say("!checkin 4")
    await console.as_("ben")
    await console.say('!checkin 5 "ben\'s private words"')
    out = await console.say("!checkin history")
    assert out == (
        "[private to ben] Your last 1 check-in(s), seen only by you (times in UTC):\n"
        "  • 2026-01-05 15:00 — 5/5 (very good): “ben's private words”\n"
        "  Your trend, the last 7 days against the 7 before: not enough check-ins yet to tell.\n"
    )
    await console.as_("amal")
    out = await console.say("!checkin history")
    assert out == (
        "[private to amal] Your last 2 check-in(s), seen only by you (times in UTC):\n"
        "  • 2026-01-05 15:00 — 4/5 (good)\n"
        "  • 2026-01-05 12:00 — 2/5 (low): “worried about the exam”\n"
        "  Your trend, the last 7 days against the 7 before: not enough check-ins yet to tell.\n"
    )
    assert "ben" not in out


async def test_history_lists_the_last_ten_and_shows_the_trend(console: Console) -> None:
    await console.as_("amal")
    for mood in (1, 2, 2, 1):
        await console.say(f"!checkin {mood}")
        console.clock.advance(timedelta(days=1))
    console.clock.advance(timedelta(days=4))
    for _ in range(8):
        await console.say("!checkin 4")
        console.clock.advance(timedelta(hours=12))
    out = await console.say("!checkin history")
    assert out.count("  • ") == 10
    assert "Your last 10 check-in(s)" in out
    assert out.splitlines()[-1] == "  Your trend, the last 7 days against the 7 before: up."
    # A week later the low days have left both windows: one 4 against eight 4s is steady.
    console.clock.advance(timedelta(days=7))
    await console.say("!checkin 4")
    assert "against the 7 before: steady." in await console.say("!checkin history")
    console.clock.advance(timedelta(days=1))
    await console.say("!checkin 1")
    await console.say("!checkin 1")
    assert "against the 7 before: down." in await console.say("!checkin history")


async def test_history_is_in_the_members_own_time_zone(console: Console) -> None:
    await console.as_("amal")
    await console.say("!checkin 3")
    async with console.database.transaction() as session:
        (await _member(session, "amal")).timezone = "Asia/Tokyo"
    out = await console.say("!checkin history")
    assert "(times in Asia/Tokyo)" in out
    assert "• 2026-01-05 21:00 — 3/5 (okay)" in out


async def test_history_belongs_to_the_community_it_was_written_in(console: Console) -> None:
    await console.as_("amal")
    await console.say("!checkin 2 at home")
    other = Console(console.database, console.clock)
    other.adapter.community = OTHER
    await other.as_("amal")
    assert "You have no check-ins here yet." in await other.say("!checkin history")


# --- summary -------------------------------------------------------------------------------------------------

NAMES = ("amal", "ben", "chen", "dana")


async def _three_check_in(console: Console, circle: str = "Evening circle") -> None:
    await _circle(console, circle)
    for name in NAMES:
        await _join(console, name, circle)
    await console.as_("amal")
    await console.say("!checkin 2 my secret about work")
    await console.as_("ben")
    await console.say('!checkin 4 "ben\'s note"')
    await console.say("!checkin 5")


async def test_summary_is_anonymous_and_withheld_below_three_people(console: Console) -> None:
    await _three_check_in(console)
    await console.as_("fac")
    await console.say("!checkin history")  # first contact records the member
    await _facilitate(console, "fac", "Evening circle")
    out = await console.say("!checkin summary Evening circle")
    assert out == (
        "[private to fac] There are too few check-ins to share without identifying anyone: fewer than 3 members "
        'of "Evening circle" checked in over the last 4 weeks.\n'
    )
    await console.as_("chen")
    await console.say('!checkin 1 "chen\'s own words"')
    await console.as_("fac")
    out = await console.say("!checkin summary evening circle")
    assert out == (
        '[private to fac] Check-ins in "Evening circle" over the last 4 weeks. Anonymous: no names and no notes.\n'
        "  4 check-in(s) from 3 members.\n"
        "  Moods: 1 (very low): 1 · 2 (low): 1 · 3 (okay): 0 · 4 (good): 1 · 5 (very good): 1\n"
        "  Trend, the last 7 days against the 7 before: not enough check-ins yet to tell.\n"
    )
    for private in ("secret", "ben's note", "chen's own words", *NAMES):
        assert private not in out


async def test_summary_trend_needs_three_people_in_each_week(console: Console) -> None:
    await _three_check_in(console)
    await console.as_("chen")
    await console.say("!checkin 1")
    console.clock.advance(timedelta(days=8))
    await console.as_("dana")
    await console.say("!checkin 5")
    await console.as_("mod", "moderator")
    out = await console.say("!checkin summary Evening circle")
    assert "5 check-in(s) from 4 members." in out
    assert "not enough check-ins yet to tell" in out  # one person alone this week: not described
    for name in ("amal", "ben", "chen"):
        await console.as_(name)
        await console.say("!checkin 5")
    await console.as_("mod", "moderator")
    out = await console.say("!checkin summary Evening circle")
    assert "Trend, the last 7 days against the 7 before: up." in out
    # Four weeks later the old check-ins have aged out of the summary.
    console.clock.advance(timedelta(weeks=4))
    assert "too few check-ins to share" in await console.say("!checkin summary Evening circle")


async def test_summary_counts_only_the_circles_seated_members_since_they_joined(console: Console) -> None:
    await _circle(console, "Evening circle")
    for name in ("amal", "ben", "erin"):
        await console.as_(name)
        await console.say("!checkin 1 before joining")
    console.clock.advance(timedelta(minutes=5))
    for name in ("amal", "ben"):
        await _join(console, name, "Evening circle")
    await _circle(console, "Other circle")
    await _join(console, "erin", "Other circle")
    await console.as_("erin")
    await console.say("!checkin 5")
    await console.as_("mod", "moderator")
    assert "too few check-ins to share" in await console.say("!checkin summary Evening circle")
    for name in ("amal", "ben"):
        await console.as_(name)
        await console.say("!checkin 3")
    await _join(console, "chen", "Evening circle")
    await console.as_("chen")
    await console.say("!checkin 4")
    await console.as_("mod", "moderator")
    out = await console.say("!checkin summary Evening circle")
    assert "3 check-in(s) from 3 members." in out
    assert "1 (very low): 0" in out
    # Someone who leaves is no longer counted.
    await console.as_("chen")
    await console.say("!circle leave Evening circle")
    await console.as_("mod", "moderator")
    assert "too few check-ins to share" in await console.say("!checkin summary Evening circle")


async def test_who_may_see_a_summary(console: Console) -> None:
    await _three_check_in(console)
    await console.as_("chen")
    await console.say("!checkin 3")
    await _circle(console, "Grief and loss")
    not_allowed = 'Only the facilitators of "Evening circle" and the moderators can see its check-in summary'
    # A member of the circle may not.
    await console.as_("amal")
    assert not_allowed in await console.say("!checkin summary Evening circle")
    # Nor may a platform-wide facilitator who does not facilitate this circle.
    await console.as_("pat", "facilitator")
    assert not_allowed in await console.say("!checkin summary Evening circle")
    # A trained facilitator of another circle may not; an untrained one of this circle may not.
    await console.as_("gil")
    await console.say("!checkin history")
    await _facilitate(console, "gil", "Grief and loss")
    assert not_allowed in await console.say("!checkin summary Evening circle")
    assert "too few check-ins to share" in await console.say("!checkin summary Grief and loss")
    # Once they leave the circle they see no more of it than anyone else, trained or not.
    await console.say("!circle leave Grief and loss")
    assert 'Only the facilitators of "Grief and loss"' in await console.say("!checkin summary Grief and loss")
    await console.as_("una")
    await console.say("!checkin history")
    await _facilitate(console, "una", "Evening circle", trained=False)
    assert not_allowed in await console.say("!checkin summary Evening circle")
    # Holding the circle's facilitator seat is enough.
    async with console.database.transaction() as session:
        ben = await _member(session, "ben")
        (
            await session.execute(select(Membership).where(Membership.member_id == ben.id))
        ).scalar_one().role = "facilitator"
    await console.as_("ben")
    assert "from 3 members" in await console.say("!checkin summary Evening circle")
    # Moderators and admins may, for any circle.
    for name, role in (("mod", "moderator"), ("root", "admin")):
        await console.as_(name, role)
        assert "from 3 members" in await console.say("!checkin summary Evening circle")
    # An unknown circle gets the usual suggestion.
    assert "Did you mean: Evening circle?" in await console.say("!checkin summary Evning circle")


async def test_summaries_are_audited_without_their_contents(console: Console) -> None:
    await _three_check_in(console)
    await console.as_("mod", "moderator")
    await console.say("!checkin summary Evening circle")
    async with console.database.transaction() as session:
        rows = list((await session.execute(select(AuditEntry).where(AuditEntry.action == "checkin.summary"))).scalars())
    assert [(row.target.startswith("circle:"), row.details) for row in rows] == [(True, {"shared": False})]


# --- preferences ---------------------------------------------------------------------------------------------


async def test_nudges_and_share_name_preferences(console: Console) -> None:
    await console.as_("amal")
    out = await console.say("!checkin nudges")
    assert out == (
        "[private to amal] Gentle nudges are on: if you have been quiet for a while, I may send you one private "
        "message. To turn them off: !checkin nudges off\n"
    )
    assert "Nudges are off." in await console.say("!checkin nudges OFF")
    assert "Gentle nudges are off" in await console.say("!checkin nudges")
    assert "Nudges are on." in await console.say("!checkin nudges on")
    out = await console.say("!checkin share-name")
    assert "your facilitator is told only that someone is quiet, never who" in out
    assert "!checkin share-name on" in out
    assert "your facilitator may be told your name" in await console.say("!checkin share-name on")
    assert "To stop that: !checkin share-name off" in await console.say("!checkin share-name")
    out = await console.say("!checkin nudges maybe")
    assert '"maybe" is not a choice for setting. Choose one of: on, off.' in out
    async with console.database.transaction() as session:
        rows = list((await session.execute(select(CheckInPreference))).scalars())
    assert [(row.nudges, row.share_name) for row in rows] == [(True, True)]


async def test_help_lists_the_check_in_commands(console: Console) -> None:
    await console.as_("amal")
    out = await console.say("!help")
    assert "!checkin <mood> [note] — Check in privately" in out
    assert "!checkin summary <circle>" in out
    assert "!checkin share-name [on|off]" in out
    out = await console.say("!help checkin")
    assert "note: A few words for yourself (optional). Only you will see them;" in out


# --- Arabic --------------------------------------------------------------------------------------------------


async def test_arabic_replies(console: Console) -> None:
    await _three_check_in(console)
    await console.as_("chen")
    assert "[private to chen] " in await console.say("!me language ar")
    out = await console.say("!checkin 2 يوم طويل")
    assert out.startswith("[private to chen] شكرًا لأنك سجّلت حالك (2 من 5: منخفض).")
    assert "أنا بوت ولست مرشدًا نفسيًا." in out
    assert "!support" in out
    assert "!resources" in out
    out = await console.say("!checkin history")
    assert "آخر 1 من تسجيلاتك، لا يراها أحد غيرك (الأوقات بتوقيت UTC):" in out
    assert "«يوم طويل»" in out
    assert "لا توجد تسجيلات كافية بعد لمعرفته" in out
    assert 'لا يرى ملخّص تسجيلات "Evening circle" إلا ميسّروها والمشرفون' in await console.say(
        "!checkin summary Evening circle"
    )
    assert "mood" in await console.say("!checkin 9")
    assert "أُوقفت التذكيرات." in await console.say("!checkin nudges off")
    await console.as_("chen", "moderator")
    out = await console.say("!checkin summary Evening circle")
    assert 'تسجيلات الحال في "Evening circle" خلال آخر 4 أسابيع. دون أسماء ودون ملاحظات.' in out
    assert "4 تسجيلًا من 3 أعضاء." in out
    assert "1 (منخفض جدًا): 0 · 2 (منخفض): 2" in out


# --- service functions on both backends ----------------------------------------------------------------------


async def test_quiet_members(database: Database, clock: ManualClock) -> None:
    now = clock.now()
    long_ago = now - timedelta(weeks=10)
    quiet_for = timedelta(weeks=3)
    since = now - quiet_for
    async with database.transaction() as session:
        home = await add_community(session, clock, "home")
        away = await add_community(session, clock, "away")
        circle = await add_circle(session, clock, home, "Evening circle")
        other_circle = await add_circle(session, clock, home, "Other circle")
        people = {
            name: await add_member(session, clock, name)
            for name in (
                "silent",
                "checked",
                "attended",
                "no_nudges",
                "new",
                "waiting",
                "named",
                "elsewhere",
                "other_circle",
                "old_checkin",
                "only_confirmed",
                "boundary",
                "old_session",
            )
        }
        for name, member in people.items():
            if name == "new":
                await add_membership(session, circle, member, queued_at=now - timedelta(weeks=1))
            elif name == "boundary":
                await add_membership(session, circle, member, queued_at=since)
            elif name == "waiting":
                await add_membership(session, circle, member, queued_at=long_ago, status=MembershipStatus.WAITLISTED)
            else:
                await add_membership(session, circle, member, queued_at=long_ago)

        def checkin(member: str, community_id: int, at: datetime) -> None:
            session.add(CheckIn(member_id=people[member].id, community_id=community_id, mood=3, created_at=at))

        checkin("checked", home.id, now - timedelta(days=2))
        checkin("elsewhere", away.id, now - timedelta(days=2))
        checkin("old_checkin", home.id, since - timedelta(seconds=1))

        def meeting(circle_id: int, start: datetime) -> CircleSession:
            row = CircleSession(
                circle_id=circle_id,
                key=f"session:{circle_id}:{start.isoformat()}",
                original_start=start,
                start_at=start,
                end_at=start + timedelta(hours=1),
                created_at=now,
            )
            session.add(row)
            return row

        recent = meeting(circle.id, now - timedelta(days=5))
        old = meeting(circle.id, since - timedelta(days=1))
        elsewhere = meeting(other_circle.id, now - timedelta(days=5))
        await session.flush()
        for session_row, who, attended in (
            (recent, "attended", True),
            (recent, "only_confirmed", False),
            (old, "old_session", True),
            (elsewhere, "other_circle", True),
        ):
            session.add(
                Attendance(session_id=session_row.id, member_id=people[who].id, confirmed=True, attended=attended)
            )
        for name, nudges, share in (("no_nudges", False, False), ("named", True, True), ("checked", True, True)):
            session.add(
                CheckInPreference(
                    member_id=people[name].id, community_id=home.id, nudges=nudges, share_name=share, updated_at=now
                )
            )
        # A preference in another community does not apply here.
        session.add(
            CheckInPreference(member_id=people["silent"].id, community_id=away.id, nudges=False, updated_at=now)
        )

    async with database.transaction() as session:
        quiet = await quiet_members(session, home.id, circle.id, now, quiet_for)
        assert [(row.native_id, row.share_name) for row in quiet] == [
            ("silent", False),
            ("named", True),
            ("elsewhere", False),
            ("other_circle", False),
            ("old_checkin", False),
            ("only_confirmed", False),
            ("boundary", False),
            ("old_session", False),
        ]
        assert quiet[0] == QuietMember(people["silent"].id, "silent", False)
        # The circle must belong to the community asked about.
        assert await quiet_members(session, away.id, circle.id, now, quiet_for) == []
        # A shorter quiet spell makes the old check-in and the old session count as quiet still; a longer one
        # brings nobody new who joined within it.
        longer = await quiet_members(session, home.id, circle.id, now, timedelta(weeks=9))
        assert {row.native_id for row in longer} == {"silent", "named", "elsewhere", "other_circle", "only_confirmed"}


async def test_preferences_are_created_once_with_defaults(database: Database, clock: ManualClock) -> None:
    async with database.transaction() as session:
        home = await add_community(session, clock, "home")
        member = await add_member(session, clock, "amal")
        first = await preference(session, member.id, home.id, clock.now())
        assert (first.nudges, first.share_name) == (True, False)
        first.share_name = True
    async with database.transaction() as session:
        again = await preference(session, member.id, home.id, clock.now())
        assert (again.nudges, again.share_name) == (True, True)
        assert await session.scalar(select(func.count()).select_from(CheckInPreference)) == 1


async def test_a_members_check_ins_can_be_forgotten_and_old_ones_purged(database: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with database.transaction() as session:
        home = await add_community(session, clock, "home")
        amal = await add_member(session, clock, "amal")
        ben = await add_member(session, clock, "ben")
        for member in (amal, ben):
            for days in (1, 40, 100):
                session.add(
                    CheckIn(
                        member_id=member.id,
                        community_id=home.id,
                        mood=3,
                        note="words",
                        created_at=now - timedelta(days=days),
                    )
                )
            await preference(session, member.id, home.id, now)
    async with database.transaction() as session:
        assert await forget_member(session, amal.id) == 3
    async with database.transaction() as session:
        owners = (await session.execute(select(CheckIn.member_id))).scalars().all()
        assert set(owners) == {ben.id}
        assert (await session.execute(select(CheckInPreference.member_id))).scalars().all() == [ben.id]
        assert await purge_before(session, now - timedelta(days=30)) == 2
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 1
        # Deleting the member removes the rest through the foreign keys.
        await session.execute(delete(Member).where(Member.id == ben.id))
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 0
        assert await session.scalar(select(func.count()).select_from(CheckInPreference)) == 0
