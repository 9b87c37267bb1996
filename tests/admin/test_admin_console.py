"""In-chat administration through the console, on SQLite and PostgreSQL: permissions, validation, overrides that
survive a restart, reset, the setup walkthrough, status, audit entries and Arabic replies."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.communities import CommunitySpec, console_ref, sync_communities
from bot.storage import Database
from bot.storage.admin_models import CommunityOverride
from bot.storage.models import (
    AuditEntry,
    Circle,
    Community,
    Escalation,
    Member,
    OutboxItem,
    OutboxStatus,
)
from bot.storage.schedule_models import CircleSchedule, Facilitator, Timer
from tests.harness import RESOURCES, Console


async def _community(console: Console, slug: str = "console") -> Community:
    async with console.database.transaction() as session:
        return (await session.execute(select(Community).where(Community.slug == slug))).scalar_one()


async def _audit(console: Console) -> list[tuple[str, str, dict[str, object], str | None]]:
    async with console.database.transaction() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.target, AuditEntry.details, Member.native_id)
            .outerjoin(Member, Member.id == AuditEntry.actor_id)
            .where(AuditEntry.action.like("admin.%"))
            .order_by(AuditEntry.id)
        )
        return [(action, target, dict(details), who) for action, target, details, who in rows]


def _config_spec(console: Console) -> list[CommunitySpec]:
    """What the harness's configuration says, as a restart would sync it."""
    return [
        CommunitySpec(
            "console",
            console_ref("console"),
            "Test community",
            console.locale,
            console.timezone,
            "GB",
            moderator_room=console.moderator_room,
            fallback_room="#moderators-backup",
        )
    ]


async def test_members_are_refused_every_admin_command(console: Console) -> None:
    await console.as_("sam")
    for line, role in (
        ("!admin setup", "admin"),
        ("!admin set timezone Europe/London", "admin"),
        ("!admin show", "moderator"),
        ("!admin status", "moderator"),
    ):
        reply = await console.say(line)
        assert f"{role} or above can do that here." in reply, (line, reply)
        assert not any(title in reply for title in ("Settings of", "Status of", "Setting up"))
    assert (await _community(console)).timezone == "UTC"


async def test_a_moderator_may_show_and_see_status_but_not_set_or_setup(console: Console) -> None:
    await console.as_("mo", "moderator")
    assert "Settings of Test community:" in await console.say("!admin show")
    assert "Status of Test community:" in await console.say("!admin status")
    assert "admin or above can do that" in await console.say("!admin set timezone Europe/London")
    assert "admin or above can do that" in await console.say("!admin setup")
    assert (await _community(console)).timezone == "UTC"
    assert await _audit(console) == []


async def test_an_admin_sets_each_setting_and_show_says_where_it_came_from(console: Console) -> None:
    await console.as_("owner", "admin")
    reply = await console.say("!admin set timezone europe/london")
    assert "Changed timezone from UTC to Europe/London" in reply
    assert "Changed language from en to ar" not in await console.say("!admin set country eg")
    assert "Changed on-call from (not set) to night-team" in await console.say("!admin set on-call night-team")
    assert "Changed name from Test community to Peer room" in await console.say("!admin set name Peer room")
    assert "Changed moderators from #moderators to #mods-2" in await console.say("!admin set moderators #mods-2")
    row = await _community(console)
    assert (row.timezone, row.country, row.on_call_role, row.name, row.moderator_room) == (
        "Europe/London",
        "EG",
        "night-team",
        "Peer room",
        "#mods-2",
    )
    shown = await console.say("!admin show")
    assert "timezone: Europe/London — set in chat by owner" in shown
    assert "language: en — from the configuration" in shown
    assert "fallback: #moderators-backup — from the configuration" in shown
    # A moderator sees the same, and who set it.
    await console.as_("mo", "moderator")
    assert "country: EG — set in chat by owner" in await console.say("!admin show")


async def test_bad_values_get_a_clear_reason_and_change_nothing(console: Console) -> None:
    await console.as_("owner", "admin")
    assert 'There is no setting "timezon". Did you mean timezone?' in await console.say(
        "!admin set timezon Europe/London"
    )
    assert 'There is no setting "colour".' in await console.say("!admin set colour blue")
    assert 'I don\'t know the time zone "Europe/Londn". Did you mean Europe/London?' in await console.say(
        "!admin set timezone Europe/Londn"
    )
    assert '"fr" is not a language I speak. Choose one of: en, ar.' in await console.say("!admin set language fr")
    assert '"GBR" is not a two-letter ISO country code' in await console.say("!admin set country GBR")
    assert '"UK" is not a two-letter ISO country code' in await console.say("!admin set country UK")
    assert "without spaces" in await console.say('!admin set moderators "two words"')
    row = await _community(console)
    assert (row.timezone, row.locale, row.country, row.moderator_room) == ("UTC", "en", "GB", "#moderators")
    assert await _audit(console) == []
    async with console.database.transaction() as session:
        assert list(await session.scalars(select(CommunityOverride))) == []


async def test_an_override_survives_a_restart_and_reset_brings_the_configured_value_back(console: Console) -> None:
    await console.as_("owner", "admin")
    await console.say("!admin set timezone Asia/Amman")
    await console.say("!admin set moderators #crisis")

    # A restart writes the configuration again: the admin's values stay, the rest follow the config.
    specs = _config_spec(console)
    specs[0] = replace(specs[0], country="JO", fallback_room="#new-backup")
    await sync_communities(console.database, specs, console.clock)
    row = await _community(console)
    assert (row.timezone, row.moderator_room) == ("Asia/Amman", "#crisis")
    assert (row.country, row.fallback_room) == ("JO", "#new-backup")

    reply = await console.say("!admin set timezone reset")
    assert "timezone is back to the configured value: UTC." in reply
    assert (await _community(console)).timezone == "UTC"
    assert "was not changed in chat" in await console.say("!admin set timezone reset")
    shown = await console.say("!admin show")
    assert "timezone: UTC — from the configuration" in shown
    assert "moderators: #crisis — set in chat by owner" in shown

    # Once reset, a restart follows the configuration again.
    later = [replace(specs[0], timezone="Africa/Cairo")]
    await sync_communities(console.database, later, console.clock)
    assert (await _community(console)).timezone == "Africa/Cairo"


async def test_set_and_reset_are_audited_with_old_and_new_values(console: Console) -> None:
    await console.as_("owner", "admin")
    await console.say("!admin set country JO")
    await console.say("!admin set country reset")
    assert await _audit(console) == [
        ("admin.set", "setting:country", {"old": "GB", "new": "JO"}, "owner"),
        ("admin.reset", "setting:country", {"old": "JO", "new": "GB"}, "owner"),
    ]


async def test_clearing_an_optional_setting(console: Console) -> None:
    await console.as_("owner", "admin")
    assert "Changed fallback from #moderators-backup to (not set)" in await console.say("!admin set fallback none")
    assert (await _community(console)).fallback_room is None


async def test_setup_lists_what_is_missing_in_order_of_importance(database: Database, clock: ManualClock) -> None:
    console = Console(database, clock, moderator_room=None)
    await console.prepare()
    await console.as_("owner", "admin")
    reply = await console.say("!admin setup")
    assert "✗ Moderator destination (where crisis alerts go): (not set)" in reply
    assert "✓ Country (for local crisis lines): GB" in reply
    steps = reply[reply.index("Next steps") :]
    first, second = steps.index("1. Without a moderator destination"), steps.index("2. The time zone is still UTC")
    assert first < second
    assert "Type: !admin set moderators #moderators" in steps
    assert "Type: !admin set timezone Europe/London" in steps
    assert "Type: !admin set on-call on-call" in steps
    assert "country" not in steps.split("Admins and moderators")[0].replace("Country", "").split("Next steps")[-1]

    await console.say("!admin set moderators #mods")
    await console.say("!admin set timezone Europe/London")
    await console.say("!admin set on-call night-team")
    reply = await console.say("!admin setup")
    assert "Next steps" not in reply
    assert "Everything essential is set. To check connections and deliveries, type !admin status." in reply


async def test_status_reports_live_parts_timers_deliveries_and_problems(console: Console) -> None:
    now = console.clock.now()
    async with console.database.transaction() as session:
        community = (await session.execute(select(Community).where(Community.slug == "console"))).scalar_one()
        owner = Member(platform="console", native_id="trainer", created_at=now)
        session.add(owner)
        circle = Circle(community_id=community.id, name="Evening", name_key="evening", capacity=8, created_at=now)
        staffed = Circle(community_id=community.id, name="Morning", name_key="morning", capacity=8, created_at=now)
        session.add_all([circle, staffed])
        await session.flush()
        session.add_all(
            [
                CircleSchedule(circle_id=circle.id, rule={}, updated_at=now),
                CircleSchedule(circle_id=staffed.id, rule={}, updated_at=now),
                Facilitator(circle_id=staffed.id, member_id=owner.id, trained=True, updated_at=now),
                Timer(key="t1", kind="reminder", circle_id=circle.id, due_at=now + timedelta(hours=2), created_at=now),
                Timer(key="t2", kind="reminder", circle_id=circle.id, due_at=now + timedelta(hours=5), created_at=now),
            ]
        )
        escalation = Escalation(
            community_id=community.id,
            source="message",
            tier="urgent",
            last_alert_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(escalation)
        await session.flush()
        base = {"community_id": community.id, "platform": "console", "kind": "room", "target": "#moderators"}
        session.add_all(
            [
                OutboxItem(
                    key="o1",
                    text="SECRET-TEXT",
                    escalation_id=escalation.id,
                    due_at=now + timedelta(hours=1),
                    created_at=now - timedelta(minutes=42),
                    **base,
                ),
                OutboxItem(key="o2", text="x", due_at=now + timedelta(hours=1), created_at=now, **base),
                OutboxItem(
                    key="o3",
                    text="x",
                    status=OutboxStatus.FAILED,
                    due_at=now,
                    created_at=now - timedelta(hours=3),
                    **base,
                ),
                OutboxItem(
                    key="o4",
                    text="x",
                    status=OutboxStatus.FAILED,
                    due_at=now,
                    created_at=now - timedelta(days=3),
                    **base,
                ),
            ]
        )

    async def live() -> list[str]:
        return [
            "adapter discord ready intent=off",
            "adapter matrix down encryption=on error=sync failed: access_token=abc123 rejected",
            "scheduler running",
        ]

    console.engine.status = live
    console.safety.resources = tuple(r for r in RESOURCES if "*" not in r.countries)
    await console.as_("owner", "admin")
    await console.say("!admin set country EG")
    await console.as_("mo", "moderator")
    reply = await console.say("!admin status")
    assert "discord: connected and ready · message content intent off" in reply
    assert "matrix: not connected · encryption on · last error: sync failed: access_token=… rejected" in reply
    assert "abc123" not in reply
    assert "SECRET-TEXT" not in reply
    assert "scheduler: running" in reply
    assert "Scheduler: 2 timers pending; next due " in reply
    assert (now + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M UTC") in reply
    assert "Delivery: 2 messages pending (1 alerts); oldest waiting 42 min; 1 failed in the last day." in reply
    assert "No crisis resource serves country EG in language en" in reply
    assert '"Evening" meets on a schedule but has no trained facilitator.' in reply
    assert '"Morning"' not in reply


async def test_status_without_a_moderator_destination_says_so(database: Database, clock: ManualClock) -> None:
    console = Console(database, clock, moderator_room=None)
    await console.prepare()
    await console.as_("owner", "admin")
    reply = await console.say("!admin status")
    assert "(this process did not report its connections)" in reply
    assert "No moderator destination: crisis alerts cannot reach anyone. Set one with !admin set moderators." in reply
    assert "Delivery: 0 messages pending (0 alerts); oldest waiting none; 0 failed in the last day." in reply


async def test_arabic_replies(database: Database, clock: ManualClock) -> None:
    console = Console(database, clock, locale="ar")
    await console.prepare()
    await console.as_("owner", "admin")
    assert "تم تغيير timezone من UTC إلى Asia/Amman" in await console.say("!admin set timezone Asia/Amman")
    assert "هل تقصد country؟" in await console.say("!admin set contry JO")
    assert "إعدادات Test community:" in await console.say("!admin show")
    assert "إعداد Test community" in await console.say("!admin setup")
    assert "حالة Test community:" in await console.say("!admin status")


async def test_setting_the_language_answers_in_it(console: Console) -> None:
    await console.as_("owner", "admin")
    reply = await console.say("!admin set language ar")
    assert "تم تغيير language من en إلى ar" in reply
    assert (await _community(console)).locale == "ar"


async def test_forgetting_the_admin_keeps_the_setting_and_removes_who(console: Console) -> None:
    from bot.admin.privacy import export_overrides, forget_overrides

    await console.as_("owner", "admin")
    await console.say("!admin set timezone Asia/Amman")
    async with console.database.transaction() as session:
        owner = (await session.execute(select(Member).where(Member.native_id == "owner"))).scalar_one()
        exported = await export_overrides(session, owner)
        assert exported == [
            {"community": "console", "setting": "timezone", "changed_at": console.clock.now().isoformat()}
        ]
        assert await forget_overrides(session, owner) == 1
    assert "timezone: Asia/Amman — set in chat by a person since forgotten" in await console.say("!admin show")
