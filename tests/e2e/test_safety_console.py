"""Transcripts of crisis detection, escalation, claims, resources and requests for a human."""

from __future__ import annotations

from bot.config import SafetySettings
from bot.storage import Database
from tests.harness import Console

CONCERN = "honestly I want to kill myself"
URGENT = "I have the pills ready and I'm doing it tonight"
DISTRESS = "I feel so alone lately"


async def test_concern_gets_a_private_warm_reply_and_one_alert(console: Console) -> None:
    await console.as_("amal")
    out = await console.say(CONCERN)
    lines = out.splitlines()
    assert lines[0] == f"[in #general] amal: {CONCERN}"
    reply = out.split("[direct message to amal] ", 1)[1].split("\n[", 1)[0]
    assert "I'm really glad you said something" in reply
    assert "I've let this community's moderators know" in reply
    assert "Samaritans: 116 123 · https://www.samaritans.org (checked 2026-11-01)" in reply
    assert "I'm a bot, not a counsellor" in reply
    assert "!support" in reply
    alert = out.split("[moderators' channel] ", 1)[1]
    assert alert.startswith("⚠ Concern alert #1: amal in #general")
    assert f"“{CONCERN}”" in alert
    assert "Claim it with !alert claim 1" in alert
    # Peers see nothing but the message itself.
    assert out.count("[in #general]") == 1


async def test_urgent_pings_nothing_without_a_role_but_says_urgent(console: Console) -> None:
    await console.as_("amal")
    out = await console.say(URGENT)
    assert "⚠ URGENT alert #1" in out
    assert "call your local emergency number" in out


async def test_a_flood_updates_one_alert_and_replies_once(console: Console) -> None:
    await console.as_("amal")
    first = await console.say(CONCERN)
    assert first.count("[moderators' channel]") == 1
    for _ in range(5):
        again = await console.say(CONCERN)
        assert "[moderators' channel]" not in again
        assert "[direct message to amal]" not in again
    raised = await console.say(URGENT)
    assert "⚠ Alert #1 is now URGENT: amal in #general, 7 messages so far" in raised
    await console.as_("mod", "moderator")
    listing = await console.say("!alert list")
    assert "#1 URGENT · message · 0 min ago · unclaimed" in listing
    assert "#2" not in listing


async def test_distress_gets_a_gentle_reply_and_no_alert(console: Console) -> None:
    await console.as_("amal")
    out = await console.say(DISTRESS)
    assert "[direct message to amal] It sounds like things feel heavy right now." in out
    assert "[moderators' channel]" not in out
    await console.as_("mod", "moderator")
    assert "No open alerts" in await console.say("!alert list")


async def test_idioms_and_ordinary_chat_are_left_alone(console: Console) -> None:
    await console.as_("amal")
    for line in ("this homework is killing me", "that cake is to die for", "see you at the circle tonight"):
        out = await console.say(line)
        assert out == f"[in #general] amal: {line}\n", line


async def test_worry_about_someone_else_gets_its_own_reply_and_a_heads_up(console: Console) -> None:
    await console.as_("amal")
    out = await console.say("I'm scared, my friend told me she wants to kill herself")
    assert "It sounds like you're worried about someone" in out
    assert "(worried about someone else)" in out


async def test_claim_resolve_and_follow_up(console: Console) -> None:
    await console.as_("amal")
    await console.say(CONCERN)
    await console.as_("mod", "moderator")
    out = await console.say("!alert claim 1")
    assert "[private to mod] You have alert #1. When it is taken care of: !alert resolve 1" in out
    assert "[moderators' channel] Alert #1 claimed by mod." in out
    await console.as_("other-mod", "moderator")
    assert "Alert #1 is already claimed by mod." in await console.say("!alert claim 1")
    await console.as_("mod", "moderator")
    out = await console.say("!alert resolve 1")
    assert "Alert #1 is resolved. Thank you." in out
    assert "Alert #1 resolved by mod." in out
    assert "Alert #1 is already resolved." in await console.say("!alert resolve 1")
    assert "No open alerts" in await console.say("!alert list")
    # A day later, a gentle check-in reaches the person, once.
    assert await console.later(hours=23) == ""
    out = await console.later(hours=2)
    assert out.startswith("[direct message to amal] Hi. I wanted to check in after the other day")
    assert await console.later(days=2) == ""


async def test_unclaimed_alerts_are_resent_to_the_fallback(console: Console) -> None:
    await console.as_("amal")
    await console.say(CONCERN)
    assert await console.later(minutes=29) == ""
    out = await console.later(minutes=2)
    assert "[moderators' channel] Still unclaimed after 31 min:" in out
    assert "[in #moderators-backup] Still unclaimed after 31 min:" in out
    await console.as_("mod", "moderator")
    await console.say("!alert claim 1")
    assert await console.later(hours=2) == ""


async def test_members_cannot_see_or_claim_alerts(console: Console) -> None:
    await console.as_("amal")
    await console.say(CONCERN)
    await console.as_("ben")
    assert "Only a moderator or above can do that here." in await console.say("!alert list")
    assert "Only a moderator or above can do that here." in await console.say("!alert claim 1")


async def test_alerts_of_another_community_cannot_be_claimed(console: Console) -> None:
    from tests.harness import OTHER

    await console.as_("amal")
    await console.say(CONCERN)
    other = Console(console.database, console.clock)
    other.adapter.community = OTHER
    await other.as_("mod", "moderator")
    assert "There is no alert #1 here." in await other.say("!alert claim 1")


async def test_support_request_reaches_moderators_privately(console: Console) -> None:
    await console.as_("amal")
    out = await console.say("!support I keep having panic attacks at night")
    assert out.startswith("[private to amal] Thank you for reaching out. I've told the moderators privately")
    assert "🙋 Concern request #1: amal asked privately for a moderator to reach out." in out
    assert "Note: “I keep having panic attacks at night”" in out
    assert "[in #general]" not in out
    again = await console.say("!support")
    assert "The moderators already have your request" in again
    assert "[moderators' channel]" not in again
    urgent = await console.as_("ben") or await console.say("!support urgent")
    assert "I've told the moderators that this is urgent." in urgent
    assert "🙋 URGENT request #2" in urgent


async def test_support_without_moderators_is_honest(database: Database, clock) -> None:  # type: ignore[no-untyped-def]
    console = Console(database, clock, moderator_room=None)
    await console.prepare()
    await console.as_("amal")
    out = await console.say("!support")
    assert "no moderators set up to receive requests yet" in out
    assert "Samaritans" in out
    out = await console.say(CONCERN)
    assert "I've let this community's moderators know" not in out
    assert "[moderators' channel]" not in out


async def test_dry_run_alerts_moderators_but_does_not_answer(database: Database, clock) -> None:  # type: ignore[no-untyped-def]
    console = Console(database, clock, safety=SafetySettings(dry_run=True))
    await console.prepare()
    await console.as_("amal")
    out = await console.say(CONCERN)
    assert "[direct message to amal]" not in out
    assert "[moderators' channel] [dry run: the member was not answered] ⚠ Concern alert #1" in out


async def test_reply_cooldown(console: Console) -> None:
    await console.as_("amal")
    assert "[direct message to amal]" in await console.say(DISTRESS)
    assert "[direct message to amal]" not in await console.say(DISTRESS)
    await console.later(minutes=11)
    assert "[direct message to amal]" in await console.say(DISTRESS)


async def test_resources_by_topic_and_suggestions(console: Console) -> None:
    await console.as_("amal")
    out = await console.say("!resources")
    assert "Resources for you:" in out
    assert "• Samaritans: 116 123 · https://www.samaritans.org (checked 2026-11-01)" in out
    assert "Citizens Advice" in out
    out = await console.say("!resources legal")
    assert "Resources: legal help" in out
    assert "Samaritans" not in out
    out = await console.say("!resources coping")
    assert "No resources are listed for that here yet." in out
    out = await console.say("!resources suggest Mind infoline 0300 123 3393")
    assert "your suggestion went to the moderators" in out
    assert "[moderators' channel] 💡 Resource suggestion from amal: Mind infoline 0300 123 3393" in out


async def test_arabic_member_gets_arabic_reply_and_moderators_their_language(console: Console) -> None:
    await console.as_("amal")
    await console.say("!me language ar")
    out = await console.say(CONCERN)
    assert "أنا سعيد حقًا لأنك تكلمت" in out
    assert "Find A Helpline" in out
    assert "⚠ Concern alert #1" in out


async def test_a_more_serious_message_is_answered_inside_the_cooldown(console: Console) -> None:
    await console.as_("amal")
    assert "[direct message to amal] It sounds like things feel heavy" in await console.say(DISTRESS)
    out = await console.say(CONCERN)
    assert "[direct message to amal] I'm really glad you said something" in out
    out = await console.say(URGENT)
    assert "[direct message to amal] I'm worried about you" in out
    # The same tier again within the cooldown is not answered again.
    assert "[direct message to amal]" not in await console.say(URGENT)


async def test_logs_never_carry_the_message(console: Console, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    caplog.set_level(logging.DEBUG, logger="bot")
    await console.as_("amal")
    secret = "honestly I want to kill myself zebra-7781"
    await console.say(secret)
    await console.say("!support my landlord zebra-7781 threatened me")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "detection in community console: tier=concern" in logged
    assert "zebra-7781" not in logged
    assert "kill myself" not in logged


def test_library_loggers_that_echo_sql_parameters_stay_quiet_even_at_debug() -> None:
    import logging
    import sys

    from bot.logs import configure_logging

    configure_logging("DEBUG", "plain", sys.stderr)
    for name in ("sqlalchemy", "aiosqlite", "asyncio"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name


async def test_words_inside_a_command_are_scanned_too(console: Console) -> None:
    await console.as_("amal")
    out = await console.say("!resources suggest nothing helps, honestly I want to kill myself")
    assert "your suggestion went to the moderators" in out
    assert "⚠ Concern alert #1: amal in #general" in out
    assert "[direct message to amal] I'm really glad you said something" in out


async def test_alert_views_claims_and_resolutions_are_audited(console: Console) -> None:
    from sqlalchemy import select

    from bot.storage.models import AuditEntry

    await console.as_("amal")
    await console.say(CONCERN)
    await console.as_("mod", "moderator")
    await console.say("!alert list")
    await console.say("!alert claim 1")
    await console.say("!alert resolve 1")
    async with console.database.transaction() as session:
        actions = [(e.action, e.target) for e in (await session.execute(select(AuditEntry))).scalars()]
    assert actions == [("alert.list", ""), ("alert.claim", "alert:1"), ("alert.resolve", "alert:1")]


async def test_failed_deliveries_and_a_restart_deliver_each_alert_exactly_once(console: Console) -> None:
    from bot.errors import PlatformError

    shown: list[str] = []
    failures = {"left": 2}

    def flaky_sender(harness: Console) -> None:
        real_send = harness.adapter.send

        async def send(delivery):  # type: ignore[no-untyped-def]
            if failures["left"]:
                failures["left"] -= 1
                raise PlatformError("502 Bad Gateway")
            shown.append(delivery.key)
            await real_send(delivery)

        harness.adapter.send = send  # type: ignore[method-assign]

    flaky_sender(console)
    await console.as_("amal")
    out = await console.say(CONCERN)
    assert "[moderators' channel]" not in out  # the first attempts failed; nothing is lost
    # The bot restarts: a new engine and console on the same database, a little later.
    restarted = Console(console.database, console.clock)
    flaky_sender(restarted)
    out = await restarted.later(seconds=5)
    assert out.count("⚠ Concern alert #1") == 1
    assert out.count("[direct message to amal]") == 1
    assert await restarted.later(minutes=5) == ""
    assert len(shown) == 2


async def test_a_crisis_inside_a_mistyped_command_still_reaches_moderators(console: Console) -> None:
    await console.as_("amal")
    out = await console.say('!support "honestly I want to kill myself')
    assert "A quotation mark is missing its partner." in out
    assert "⚠ Concern alert #1" in out
    out = await console.say("!support I can't go on, I want to kill myself")
    assert "I've told the moderators privately" in out


async def test_arabic_crisis_messages_in_an_arabic_community(database: Database, clock) -> None:  # type: ignore[no-untyped-def]
    console = Console(database, clock, locale="ar")
    await console.prepare()
    await console.as_("amal")
    out = await console.say("بدي موت، تعبت من كل شي")
    assert "[رسالة خاصة إلى amal] أنا سعيد حقًا لأنك تكلمت" in out
    assert "أبلغتُ مشرفي هذا المجتمع" in out
    assert "[قناة المشرفين] ⚠ تنبيه قلق رقم 1: amal في #general" in out
    # Egyptian dialect in Latin letters, from someone else, and worry about a friend.
    await console.as_("ben")
    assert "تنبيه قلق رقم 2" in await console.say("3ayez amoot")
    await console.as_("chen")
    out = await console.say("صاحبتي قالت إنها عايزة تموت")
    assert "يبدو أنك قلق على شخص ما" in out
    assert "(قلق على شخص آخر)" in out
    # Idiom and loneliness: no alert; loneliness gets a gentle reply.
    await console.as_("dana")
    assert "قناة المشرفين" not in await console.say("الواجب ده هيموتني")
    out = await console.say("حاسس إني لوحدي خالص")
    assert "يبدو أن الأمور ثقيلة عليك الآن" in out
    assert "قناة المشرفين" not in out


async def test_moderators_hear_when_the_private_reply_cannot_be_delivered(console: Console) -> None:
    from bot.errors import DeliveryRefused

    real_send = console.adapter.send

    async def closed_dms(delivery):  # type: ignore[no-untyped-def]
        if delivery.kind == "dm":
            raise DeliveryRefused("50007: Cannot send messages to this user")
        await real_send(delivery)

    console.adapter.send = closed_dms  # type: ignore[method-assign]
    await console.as_("amal")
    out = await console.say(CONCERN)
    assert "[direct message to amal]" not in out
    assert "⚠ Concern alert #1" in out
    assert (
        "[moderators' channel] The private reply to amal about alert #1 could not be delivered "
        "(their direct messages may be closed). Please reach out to them another way."
    ) in out
    # A reminder or other ordinary private message that bounces does not alarm anyone.
    assert out.count("could not be delivered") == 1
