"""Transcripts through the console adapter: what members and moderators see for every circle command."""

from __future__ import annotations

from tests.harness import OTHER, Console


async def _circle(console: Console, spec: str) -> None:
    await console.as_("mod", "moderator")
    out = await console.say(f"!circle create {spec}")
    assert "Created the" in out, out


async def test_moderator_creates_and_member_lists_and_joins(console: Console) -> None:
    await console.as_("mod", "moderator")
    out = await console.say('!circle create "Evening circle" topic="Feeling isolated" capacity=8')
    assert out == (
        '[private to mod] Created the public circle "Evening circle" with 8 seats. '
        "Members can join with: !circle join Evening circle\n"
    )
    await console.as_("amal")
    out = await console.say("!circle list")
    assert "[private to amal] Circles in Test community:" in out
    assert "• Evening circle — Feeling isolated (0/8 seats)" in out
    out = await console.say("!circle join evening   CIRCLE")
    assert 'Welcome to "Evening circle"' in out
    out = await console.say("!circle list")
    assert "(1/8 seats) · you are a member" in out
    out = await console.say("!circle info Evening circle")
    assert "Evening circle (open, public)" in out
    assert "Seats: 1 of 8 taken · waiting: 0" in out
    assert "You are a member." in out


async def test_member_may_not_create_or_archive(console: Console) -> None:
    await console.as_("amal")
    out = await console.say("!circle create Secret club")
    assert out == "[private to amal] Only a moderator or above can do that here.\n"
    await _circle(console, "Evening circle")
    await console.as_("amal")
    assert "Only a moderator or above" in await console.say("!circle archive Evening circle")
    await console.as_("mod", "moderator")
    out = await console.say("!circle list")
    assert "Evening circle" in out


async def test_create_rejects_bad_values_with_clear_messages(console: Console) -> None:
    await console.as_("mod", "moderator")
    cases = {
        "!circle create Evening capacity=ten": 'capacity should be a whole number, not "ten".',
        "!circle create Evening capacity=1": "capacity should be between 2 and 500.",
        "!circle create Evening capacity=400": "This server allows at most 50 seats in a circle.",
        "!circle create Evening visibility=secret": '"secret" is not a choice for visibility. '
        "Choose one of: public, unlisted.",
        "!circle create @everyone party": "A circle name cannot start with @, #, ! or /.",
        "!circle create X": "A circle name needs between 2 and 80 characters.",
        "!circle create Even\u200bing": "A circle name cannot contain invisible or control characters.",
        "!circle create": "Please give name. Usage: !circle create <name> [topic=…] [description=…] "
        "[capacity=…] [public|unlisted]",
        "!circle create Evening capacity=3 capacity=4": "capacity was given twice; please give it once.",
        '!circle create "Evening circle': "A quotation mark is missing its partner.",
    }
    for line, expected in cases.items():
        out = await console.say(line)
        assert out.startswith("[private to mod] "), (line, out)
        assert expected in out, (line, out)
    # Nothing was created by any of those.
    assert "There are no circles here yet" in await console.say("!circle list")


async def test_duplicate_names_are_refused_even_when_archived(console: Console) -> None:
    await _circle(console, "Evening circle")
    out = await console.say("!circle create evening  Circle")
    assert 'There is already a circle called "Evening circle".' in out
    await console.say("!circle archive Evening circle")
    out = await console.say("!circle create Evening circle")
    assert 'There is an archived circle called "Evening circle"' in out


async def test_full_circle_waitlist_and_promotion_by_private_message(console: Console) -> None:
    await _circle(console, "Small circle capacity=2")
    for name in ("amal", "ben"):
        await console.as_(name)
        assert "Welcome to" in await console.say("!circle join Small circle")
    await console.as_("chen")
    out = await console.say("!circle join Small circle")
    assert "is full right now. You are number 1 on the waitlist" in out
    await console.as_("dana")
    assert "number 2 on the waitlist" in await console.say("!circle join Small circle")
    out = await console.say("!circle join Small circle")
    assert 'You are already on the waitlist for "Small circle" (number 2 in line).' in out
    assert "You are number 2 on the waitlist." in await console.say("!circle info Small circle")
    await console.as_("mod", "moderator")
    assert "(2/2 seats) · full, 2 waiting" in await console.say("!circle list")

    await console.as_("amal")
    out = await console.say("!circle leave Small circle")
    assert out == (
        '[private to amal] You have left "Small circle". You\'re welcome back any time.\n'
        '[direct message to chen] Good news: a seat opened in "Small circle" and it\'s yours. '
        "You are now a member.\n"
    )
    await console.as_("chen")
    assert "You are a member." in await console.say("!circle info Small circle")
    await console.as_("dana")
    assert "You are number 1 on the waitlist." in await console.say("!circle info Small circle")
    out = await console.say("!circle leave Small circle")
    assert 'You are no longer on the waitlist for "Small circle".' in out
    assert "direct message" not in out
    out = await console.say("!circle leave Small circle")
    assert 'You are not in "Small circle" or on its waitlist.' in out


async def test_join_twice_and_unknown_circles_suggest_close_names(console: Console) -> None:
    await _circle(console, "Evening circle")
    await _circle(console, "Grief and loss")
    await console.as_("amal")
    await console.say("!circle join Evening circle")
    assert 'You are already a member of "Evening circle".' in await console.say("!circle join Evening circle")
    out = await console.say("!circle join Evning circle")
    assert 'I couldn\'t find a circle called "Evning circle". Did you mean: Evening circle?' in out
    out = await console.say("!circle info grief")
    assert "Did you mean: Grief and loss?" in out
    out = await console.say("!circle join Knitting")
    assert 'I couldn\'t find a circle called "Knitting". Type !circle list to see the circles.' in out


async def test_unlisted_circles_are_hidden_from_outsiders(console: Console) -> None:
    await _circle(console, "Survivors visibility=unlisted")
    await console.as_("amal")
    assert "There are no circles here yet" in await console.say("!circle list")
    # Never suggested to someone outside it, even for a near miss.
    out = await console.say("!circle info Survivor")
    assert "Survivors" not in out
    # The exact name still works: the person was given it.
    assert "Welcome to" in await console.say("!circle join survivors")
    assert "Survivors — - (1/12 seats) · unlisted · you are a member" in await console.say("!circle list")
    await console.as_("mod", "moderator")
    assert "unlisted" in await console.say("!circle list")


async def test_archive_tells_members_and_blocks_joins(console: Console) -> None:
    await _circle(console, "Evening circle capacity=2")
    for name in ("amal", "ben", "chen"):
        await console.as_(name)
        await console.say("!circle join Evening circle")
    await console.as_("mod", "moderator")
    out = await console.say("!circle archive Evening circle")
    assert '[private to mod] Archived "Evening circle". I let 3 member(s) and waiting people know privately.' in out
    for name in ("amal", "ben", "chen"):
        assert f'[direct message to {name}] The moderators have archived the circle "Evening circle"' in out
    assert "To find another circle: !circle list" in out
    assert '"Evening circle" is already archived.' in await console.say("!circle archive Evening circle")
    await console.as_("dana")
    out = await console.say("!circle join Evening circle")
    assert '"Evening circle" has been archived and is not taking new members.' in out
    assert "There are no circles here yet" in await console.say("!circle list")


async def test_circles_of_another_community_are_out_of_reach(console: Console) -> None:
    await _circle(console, "Evening circle")
    other = Console(console.database, console.clock)
    other.adapter.community = OTHER
    await other.as_("amal")
    assert "There are no circles here yet" in await other.say("!circle list")
    assert "I couldn't find a circle called" in await other.say("!circle join Evening circle")
