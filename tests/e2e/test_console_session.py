"""Transcripts of help, parsing errors, languages and the console's own commands."""

from __future__ import annotations

from bot.commands import Command, CommandCatalogue
from bot.engine import CommandContext
from bot.model import Action, Platform
from tests.harness import Console


async def test_help_lists_what_the_role_may_run(console: Console) -> None:
    await console.as_("amal")
    out = await console.say("!help")
    assert out.startswith("[private to amal] What I can do (type ! before each command):\n")
    assert "  !circle join <circle> — Join a circle, or its waitlist when it is full\n" in out
    assert "!circle create" not in out
    assert "!circle archive" not in out
    await console.as_("mod", "moderator")
    out = await console.say("!help")
    assert "!circle create <name> [topic=…] [description=…] [capacity=…] [public|unlisted]" in out
    assert "!circle archive <circle>" in out


async def test_help_for_a_group_and_a_command(console: Console) -> None:
    await console.as_("amal")
    out = await console.say("!help circle")
    assert "The circle commands:" in out
    assert "!circle leave <circle>" in out
    out = await console.say("!help circle join")
    assert "!circle join <circle> — Join a circle" in out
    assert "    circle: The circle's name" in out
    assert '"circle create" is for moderators or admins only.' in await console.say("!help circle create")
    assert 'There is no help for "dance". Type !help to see every command.' in await console.say("!help dance")


async def test_parse_errors_are_clear(console: Console) -> None:
    await console.as_("amal")
    out = await console.say("!dance now")
    assert out == '[private to amal] I don\'t know the command "dance". Type !help to see what I can do.\n'
    out = await console.say("!circle dance")
    assert 'That is not one of the "circle" commands. Type !help circle to see them.' in out
    out = await console.say("!circle join")
    assert "Please give circle. Usage: !circle join <circle>" in out
    out = await console.say("!me language fr")
    assert '"fr" is not a choice for language. Choose one of: en, ar.' in out
    out = await console.say("!circle list everything")
    assert 'I did not expect "everything" there. Usage: !circle list' in out


async def test_member_chooses_arabic_and_errors_follow(console: Console) -> None:
    await console.as_("amal")
    assert "I speak English with you" in await console.say("!me language")
    out = await console.say("!me language ar")
    assert out == "[private to amal] من الآن سأكتب لك بـالعربية.\n"
    assert "لا توجد دوائر هنا بعد" in await console.say("!circle list")
    assert "لا أعرف الأمر" in await console.say("!dance")
    assert "لم أجد دائرة باسم" in await console.say("!circle join nothing")
    # Someone else still gets the community's language.
    await console.as_("ben")
    assert "There are no circles here yet" in await console.say("!circle list")


async def test_an_arabic_community_answers_in_arabic(database, clock) -> None:  # type: ignore[no-untyped-def]
    console = Console(database, clock, locale="ar")
    await console.prepare()
    await console.as_("mod", "moderator")
    out = await console.say('!circle create "دائرة المساء" capacity=5')
    assert 'أُنشئت الدائرة عامة "دائرة المساء" وفيها 5 مقعدًا' in out
    await console.as_("amal")
    assert "أهلًا بك في" in await console.say("!circle join دائرة المساء")
    assert "أنت عضو" in await console.say("!circle list")
    out = await console.say("!me language en")
    assert "From now on I will write to you in English." in out


async def test_unconfigured_community_gets_a_clear_message(console: Console) -> None:
    from bot.model import CommunityRef

    console.adapter.community = CommunityRef(Platform.CONSOLE, "nowhere")
    out = await console.say("!circle list")
    assert "Peer Circles is not set up for this server or space yet." in out


async def test_a_failing_handler_is_reported_and_the_bot_keeps_going(console: Console) -> None:
    async def broken(ctx: CommandContext) -> list[Action]:
        raise RuntimeError("boom")

    console.engine.catalogue = CommandCatalogue.of([*console.engine.catalogue, Command("explode", broken)])
    await console.as_("amal")
    out = await console.say("!explode")
    assert "Something went wrong on our side and nothing was changed." in out
    # The next command is served normally.
    assert "There are no circles here yet" in await console.say("!circle list")


async def test_console_meta_commands(console: Console) -> None:
    out = await console.say("!as wizard")
    assert "Choose a role: member, facilitator, moderator, admin." in out
    out = await console.say("!as admin")
    assert "You are now acting as admin." in out
    assert 'You are now "sam".' in await console.say("!user sam")
    assert "Give a name without spaces" in await console.say("!user two words")
    out = await console.say("hello everyone")
    assert out == "[in #general] sam: hello everyone\n"
    assert await console.say("   ") == ""
    assert not await console.adapter.handle_line("!quit")


async def test_a_flood_of_commands_is_slowed_with_a_clear_message_but_support_always_works(console: Console) -> None:
    await console.as_("amal")
    answers = [await console.say("!circle list") for _ in range(12)]
    assert all("There are no circles here yet" in out for out in answers[:10])
    assert "You are sending commands faster than I can take them. Please wait 2 s" in answers[10]
    assert "!support always works" in answers[10]
    out = await console.say("!support I need someone")
    assert "I've told the moderators privately" in out
    # Someone else is not slowed by amal's flood, and amal is served again after a short wait.
    await console.as_("ben")
    assert "There are no circles here yet" in await console.say("!circle list")
    await console.as_("amal")
    await console.later(seconds=2)
    assert "There are no circles here yet" in await console.say("!circle list")
