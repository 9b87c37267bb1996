"""Property-based injection tests at the adapters: hostile text (mentions, pills, HTML, Markdown, bidi and control
characters, huge inputs) through the render functions and the send paths of Discord and Matrix.

- Discord: every message and interaction answer the bot sends carries ``allowed_mentions`` that ping nobody, except
  an alert's first message, which may ping exactly the configured on-call role; and its content has every Markdown
  construct of user text escaped, so Discord shows it as typed (tests/discord/test_markdown_escape.py reads it as
  Discord does). The payloads checked are the ones discord.py put on the wire (simcord records every REST request).
- Matrix: the ``formatted_body`` holds only the tags and attributes the bot's own template makes (``<a href>`` for
  the addressed person's pill and for web links, ``<br>``), its visible text is exactly the plain ``body`` (so user
  text is escaped, never markup), no pill comes from user text, and ``m.mentions`` names only the person addressed
  and never ``room``.

A few generated names also go end to end: ``circle create`` with a nasty name, then ``circle list`` and ``circle
info``, through simcord and through a real Synapse.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import simcord
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.adapters.discord.render import MESSAGE_LIMIT, NO_MENTIONS, escape_markdown, message_parts, ping_mentions
from bot.adapters.matrix.outgoing import Outgoing
from bot.adapters.matrix.render import notice, user_link
from bot.delivery.outbox import Delivery
from bot.i18n import catalogue
from bot.model import Platform
from bot.safety.escalation import excerpt_of
from tests.discord.test_markdown_escape import markdown_problems, unescape
from tests.discord.world import World, running_world
from tests.matrix import conftest as matrix_conftest
from tests.matrix.synapse import Synapse
from tests.permissions_table import Actor
from tests.test_permissions_table import MatrixWorld, matrix_world

synapse = matrix_conftest.synapse
"""The homeserver fixture of tests/matrix."""

HOSTILE_TOKENS = [
    "@everyone",
    "@here",
    "@room",
    "@\u200beveryone",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&456456456456456456>",
    "<#789789789789789789>",
    "</circle join:1>",
    "https://matrix.to/#/@admin:localhost",
    "https://matrix.to/#/%40admin%3Alocalhost",
    "HTTP://MATRIX.TO/#/@admin:localhost",
    "https://matrix.to/#/#general:localhost",
    "https://matrix.to/#/!room:localhost",
    "https://matrix.to/#/!room:localhost/$event?via=localhost",
    '<a href="https://matrix.to/#/@admin:localhost">Admin</a>',
    '<a href="javascript:alert(1)">x</a>',
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "</code>",
    "</pre>",
    "<!-- x -->",
    "<![CDATA[x]]>",
    "&lt;b&gt;",
    "&amp;",
    "&#x3C;script&#x3E;",
    '"><b>',
    "' onmouseover='x",
    "https://example.org/a?b=1&c=<d>",
    'http://x.org/"onmouseover="alert(1)',
    "**bold**",
    "[x](https://evil.example)",
    "||spoiler||",
    "`",
    "```",
    "# heading",
    "> quote",
    "-# small",
    "- item",
    "1. item",
    "__under__",
    "~~struck~~",
    "\\*",
    "\\",
    "[x](<https://evil.example>)",
    "<:blob_cat:123>",
    "<t:1767225600:R>",
    "https://example.org/a_b_c",
    "\u202e",
    "\u2066",
    "\u200f",
    "\ufeff",
    "\x00",
    "\x1b[31m",
    "\r\n",
    "\n",
    "\t",
]
HOSTILE = st.sampled_from(HOSTILE_TOKENS)
PIECES = st.one_of(st.text(max_size=20), HOSTILE, st.sampled_from([" ", "\n"]))
TEXT = st.lists(PIECES, max_size=16).map("".join)
HUGE = st.builds(lambda token, times: token * times, HOSTILE, st.integers(min_value=200, max_value=700))
ANY_TEXT = st.one_of(TEXT, TEXT, TEXT, HUGE)

USER_ID = st.from_regex(r"@[a-z0-9._=/-]{1,20}:[a-z0-9.-]{1,20}", fullmatch=True)


# -- Matrix: the rendered content ---------------------------------------------------------------------------------


class Shape(HTMLParser):
    """What a ``formatted_body`` holds: its tags with their attributes, anything that is not plain markup, and the
    text a client shows (``<br>`` as a line break)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.ends: list[str] = []
        self.other: list[str] = []
        self.shown: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag == "br":
            self.shown.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.ends.append(tag)

    def handle_data(self, data: str) -> None:
        self.shown.append(data)

    def handle_comment(self, data: str) -> None:
        self.other.append(f"comment {data!r}")

    def handle_decl(self, decl: str) -> None:
        self.other.append(f"declaration {decl!r}")

    def handle_pi(self, data: str) -> None:
        self.other.append(f"processing instruction {data!r}")

    def unknown_decl(self, data: str) -> None:
        self.other.append(f"declaration {data!r}")


_PILL = re.compile(r"https?://matrix\.to/#/([@#!][^?]*)", re.IGNORECASE | re.DOTALL)


def is_pill_link(href: str) -> bool:
    """Whether a client would show ``href`` as a pill of a person or a room (not a link to one message)."""
    matched = _PILL.match(unquote(href))
    if matched is None:
        return False
    target = matched.group(1)
    return target.startswith("@") or "/$" not in target


def html_problems(content: dict[str, Any], text: str, mention: tuple[str, str] | None) -> list[str]:
    """Everything in a rendered notice that the bot's own template did not make."""
    problems = []
    expected_body = text if mention is None else f"{mention[1] or mention[0]}: {text}"
    if content.get("body") != expected_body:
        problems.append("the plain body is not the text")
    if content.get("format") != "org.matrix.custom.html":
        problems.append(f"format {content.get('format')!r}")
    shape = Shape()
    shape.feed(content["formatted_body"])
    shape.close()
    problems += shape.other
    pill = user_link(mention[0]) if mention is not None else None
    for index, (tag, attrs) in enumerate(shape.tags):
        if tag == "br" and not attrs:
            continue
        if tag != "a" or len(attrs) != 1 or attrs[0][0] != "href" or attrs[0][1] is None:
            problems.append(f"tag {tag} {attrs}")
            continue
        href = attrs[0][1]
        if index == 0 and href == pill:
            continue  # the addressed person's pill, which the template puts first
        if not href.startswith(("https://", "http://")) or href not in text:
            problems.append(f"link {href!r} not taken from a web address in the text")
        elif is_pill_link(href):
            problems.append(f"user text made a pill: {href!r}")
    if set(shape.ends) - {"a"}:
        problems.append(f"end tags {set(shape.ends)}")
    if "".join(shape.shown) != expected_body:
        problems.append("the text a client shows is not the plain body (markup got through, or text was lost)")
    mentions = content.get("m.mentions")
    expected_mentions = {} if mention is None else {"user_ids": [mention[0]]}
    if mentions != expected_mentions:
        problems.append(f"m.mentions {mentions!r}, expected {expected_mentions!r}")
    return problems


@given(ANY_TEXT)
@settings(max_examples=400, deadline=None)
@example("join https://matrix.to/#/@admin:localhost now")
@example("https://matrix.to/#/%40admin%3Alocalhost")
@example('<a href="https://evil.example">x</a><script>alert(1)</script><img src=x onerror="y">')
@example("@room everyone look </code>&amp;")
def test_a_matrix_notice_holds_only_the_templates_markup(text: str) -> None:
    content = notice(text)
    assert html_problems(content, text, None) == []


@given(ANY_TEXT, USER_ID, TEXT)
@settings(max_examples=300, deadline=None)
@example("hi", "@amal:localhost", '<img src=x onerror="alert(1)">@room')
@example("@room", "@amal:localhost", "https://matrix.to/#/@admin:localhost")
def test_a_matrix_notice_addressed_to_one_person_mentions_only_them(text: str, user_id: str, display: str) -> None:
    content = notice(text, mention=(user_id, display))
    assert html_problems(content, text, (user_id, display)) == []


def test_the_pill_check_tells_people_and_rooms_from_message_links() -> None:
    assert is_pill_link("https://matrix.to/#/@admin:localhost")
    assert is_pill_link("https://matrix.to/#/%40admin%3Alocalhost")
    assert is_pill_link("HTTP://Matrix.TO/#/@admin:localhost")
    assert is_pill_link("https://matrix.to/#/#general:localhost")
    assert is_pill_link("https://matrix.to/#/!room:localhost?via=x")
    assert not is_pill_link("https://matrix.to/#/!room:localhost/$event")
    assert not is_pill_link("https://example.org/#/@admin")


def test_a_web_address_in_user_text_is_still_a_link_but_a_person_is_not() -> None:
    content = notice("see https://example.org/help and https://matrix.to/#/@admin:localhost")
    assert '<a href="https://example.org/help">' in content["formatted_body"]
    assert 'href="https://matrix.to/#/@admin:localhost"' not in content["formatted_body"]
    alert_link = "https://matrix.to/#/!room:localhost/$event"
    assert f'<a href="{alert_link}">' in notice(f"Open: {alert_link}")["formatted_body"]


# -- Matrix: the send path ------------------------------------------------------------------------------------------


class RecordingClient:
    """Stands in for nio's client at the edge: keeps what the bot would send to the homeserver."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.rooms: dict[str, Any] = {}

    async def room_send(self, room_id: str, message_type: str, content: dict[str, Any], **_: Any) -> Any:
        from nio import RoomSendResponse

        self.sent.append((room_id, message_type, content))
        return RoomSendResponse(f"$event{len(self.sent)}", room_id)


class _Places:
    def room_id(self, target: str) -> str:
        return target


class _State:
    async def thread_root(self, target: str) -> None:
        return None

    async def set_alert_event(self, event_id: str, escalation_id: int) -> None:
        return None


@given(ANY_TEXT, st.sampled_from([None, "@oncall:localhost", "@room"]))
@settings(max_examples=150, deadline=None)
@example("<@&1> @room https://matrix.to/#/@admin:localhost", "@oncall:localhost")
async def test_what_the_matrix_sender_sends_never_pings_a_room(text: str, ping: str | None) -> None:
    client = RecordingClient()
    out = Outgoing(client, _State(), _Places(), catalogue())  # type: ignore[arg-type]
    delivery = Delivery("k", Platform.MATRIX, "room", "!mods:localhost", text, ping=ping, escalation_id=1)
    await out.send(delivery)
    [(room_id, message_type, content)] = client.sent
    assert (room_id, message_type) == ("!mods:localhost", "m.room.message")
    assert content["msgtype"] == "m.notice"
    mentions = content["m.mentions"]
    assert "room" not in mentions
    if ping is not None and ping.startswith("@") and ping != "@room":
        assert mentions == {"user_ids": [ping]}
    assert "".join(_shown(content["formatted_body"])) == content["body"]


def _shown(formatted: str) -> list[str]:
    shape = Shape()
    shape.feed(formatted)
    shape.close()
    return shape.shown


# -- Discord: the render helpers ------------------------------------------------------------------------------------


def _ink(text: str) -> str:
    return "".join(char for char in text if not char.isspace())


@given(ANY_TEXT)
@settings(max_examples=300, deadline=None)
@example("x" * 1999 + "\n   \n" + "y" * 1999)
@example("\n" * 2500 + "z")
@example("*" * 1500 + "\n# heading " + "_" * 1500)
def test_discord_message_parts_fit_show_every_visible_character_and_are_never_blank(text: str) -> None:
    parts = message_parts(text)
    assert parts
    assert all(len(part) <= MESSAGE_LIMIT for part in parts)
    assert _ink("".join(unescape(part) for part in parts)) == _ink(text)
    assert [problem for part in parts for problem in markdown_problems(part)] == []
    if text.strip():
        assert all(part.strip() for part in parts), "Discord refuses a blank message with a 400"


@given(st.one_of(st.none(), st.text(max_size=25), st.from_regex(r"[0-9]{17,20}", fullmatch=True)))
@settings(max_examples=300, deadline=None)
@example("²")
@example("١٢٣")
@example("@everyone")
def test_discord_ping_mentions_allow_at_most_one_role_and_never_everyone(role: str | None) -> None:
    allowed = ping_mentions(role).to_dict()
    assert allowed.get("parse") == []
    assert "users" not in allowed
    roles = allowed.get("roles", [])
    assert roles == [] or (role is not None and role.isascii() and role.isdigit() and roles == [int(role)])


def test_the_default_is_no_mention_at_all() -> None:
    assert NO_MENTIONS.to_dict() == {"parse": []}


# -- Discord: what goes on the wire ----------------------------------------------------------------------------------


MESSAGE_PATHS = re.compile(
    r"^/(channels/\d+/messages|interactions/\d+/[^/]+/callback|webhooks/\d+/[^/]+(/messages/.+)?)$"
)


def discord_payloads(env: simcord.Env, since: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """Every message body the bot sent since request ``since``: posts, interaction answers, follow-ups, edits."""
    payloads = []
    for entry in env.http_requests[since:]:
        if entry.method not in ("POST", "PATCH") or not MESSAGE_PATHS.match(entry.path):
            continue
        body = entry.json or {}
        data = body.get("data", body) if "/interactions/" in entry.path else body
        if isinstance(data, dict) and ("content" in data or "components" in data):
            payloads.append((entry.path, data))
    return payloads


def markdown_left(payloads: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Markdown Discord could still format in the payloads' contents (user text must show as typed)."""
    return [f"{path}: {problem}" for path, data in payloads for problem in markdown_problems(data.get("content") or "")]


def ping_problems(payloads: list[tuple[str, dict[str, Any]]], on_call: str | None = None) -> list[str]:
    """Payloads whose allowed_mentions would let text ping anyone: only ``on_call`` (a role id) may be pinged."""
    problems = []
    for path, data in payloads:
        allowed = data.get("allowed_mentions")
        if not isinstance(allowed, dict):
            problems.append(f"{path}: no allowed_mentions in {data}")
            continue
        if allowed.get("parse") != [] or allowed.get("users") or allowed.get("replied_user"):
            problems.append(f"{path}: allowed_mentions {allowed}")
        roles = [str(role) for role in allowed.get("roles") or []]
        if roles and (on_call is None or roles != [on_call]):
            problems.append(f"{path}: allowed_mentions pings roles {roles}")
    return problems


@pytest.fixture
async def discord_world(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[World]:
    async with running_world(tmp_path, sqlite_template, message_content_intent=True) as world:
        yield world


REUSED = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
"""Examples share one simulated server: each adds messages and checks only the requests it caused."""


SAYABLE = ANY_TEXT.map(lambda text: text if text.strip() else text + ".")
"""Text with something to show (the engine never sends a blank message, and Discord refuses one)."""


@given(text=SAYABLE)
@REUSED
@example(text="@everyone @here <@123456789012345678> <@&456456456456456456> <#789789789789789789>")
@example(text="x" * 1999 + "\n   \n" + "@everyone " * 200)
async def test_discord_posts_and_direct_messages_ping_nobody(discord_world: World, text: str) -> None:
    world = discord_world
    sender = world.adapter.bridge.sender
    assert sender is not None
    member = world.member("amal")
    since = len(world.env.http_requests)
    await sender.post(str(world.general.id), text)
    await sender.direct(str(member.id), text)
    await world.env.settle()
    payloads = discord_payloads(world.env, since)
    assert len(payloads) >= 2
    assert ping_problems(payloads) == []
    assert markdown_left(payloads) == []
    if len(escape_markdown(text)) <= MESSAGE_LIMIT and not text.startswith("\n"):
        assert payloads[0][1]["content"] == escape_markdown(text)  # escaped once, as a whole


@given(text=SAYABLE)
@REUSED
@example(text="<@&456456456456456456> @everyone " * 200)
async def test_a_discord_alert_pings_only_the_on_call_role(discord_world: World, text: str) -> None:
    world = discord_world
    sender = world.adapter.bridge.sender
    assert sender is not None
    on_call = str(world.guild.roles["On call"].id)
    since = len(world.env.http_requests)
    delivery = Delivery(
        f"alert-{since}", Platform.DISCORD, "room", str(world.moderators.id), text, ping=on_call, escalation_id=1
    )
    await sender.send(delivery)
    await world.env.settle()
    payloads = discord_payloads(world.env, since)
    assert payloads
    assert [str(r) for r in payloads[0][1]["allowed_mentions"].get("roles", [])] == [on_call]
    assert ping_problems(payloads[:1], on_call) == []
    assert ping_problems(payloads[1:]) == []
    assert markdown_left(payloads) == []


PRINTABLE = st.characters(blacklist_categories=("Cc", "Cf", "Co", "Cs"))
NAME_TOKENS = [token for token in HOSTILE_TOKENS if not any(unicodedata.category(c).startswith("C") for c in token)]
NAMES = st.lists(
    st.one_of(st.sampled_from(NAME_TOKENS), st.text(PRINTABLE, min_size=1, max_size=8)), min_size=1, max_size=6
).map(lambda words: ("C " + " ".join(words))[:80])
"""Circle names the bot accepts (it refuses control and format characters and a leading @, # or !), full of
mentions, markup and pills; 80 characters at most, the slash option's limit."""


@given(name=NAMES)
@REUSED
@example(name="Evening @everyone <@&456456456456456456> **circle** [x](https://evil.example)")
@example(name="x <@123456789012345678> </code> <script>alert(1)</script> @here")
async def test_a_nasty_circle_name_pings_nobody_on_discord(discord_world: World, name: str) -> None:
    """Create a circle with the name, list the circles and show it: every answer on the wire pings nobody."""
    world = discord_world
    moderator = world.member("mona", world.mod_role)
    since = len(world.env.http_requests)
    created = await moderator.slash(world.general, "circle create", name=name)
    await moderator.slash(world.general, "circle list")
    await moderator.slash(world.general, "circle info", circle=name)
    await moderator.slash(world.general, "resources suggest", suggestion=name[:200])
    await world.drain()
    payloads = discord_payloads(world.env, since)
    assert created.response is not None
    assert created.response.content.startswith("Created") or "already" in created.response.content, created.response
    assert len(payloads) >= 4
    assert ping_problems(payloads) == []
    assert markdown_left(payloads) == []
    if created.response.content.startswith("Created"):
        assert escape_markdown(" ".join(unicodedata.normalize("NFC", name).split())) in created.response.content


async def test_a_crisis_message_full_of_mentions_alerts_without_pinging_them(discord_world: World) -> None:
    """An alert's excerpt is user text: its mentions are shown, and only the on-call role is pinged."""
    world = discord_world
    member = world.member("amal")
    since = len(world.env.http_requests)
    words = "@everyone <@&1> <@123456789012345678> **I want to kill myself** ||@here|| [x](https://evil.example)"
    await member.send(world.general, words)
    await world.drain()
    payloads = discord_payloads(world.env, since)
    channel = f"/channels/{world.moderators.id}/messages"
    alerts = [data for path, data in payloads if path == channel]
    assert alerts, payloads
    on_call = str(world.guild.roles["On call"].id)
    assert ping_problems([(channel, alerts[0])], on_call) == []
    assert ping_problems([(path, data) for path, data in payloads if data is not alerts[0]]) == []
    alert = world.moderators.last_message
    assert alert is not None
    assert not alert.mention_everyone  # type: ignore[attr-defined]
    assert markdown_left(payloads) == []
    assert f"“{escape_markdown(excerpt_of(words))}”" in alert.content


# -- Matrix end to end: a real Synapse ------------------------------------------------------------------------------


def content_problems(content: dict[str, Any], addressed: set[str]) -> list[str]:
    """What in a notice the bot sent (or Synapse delivered) is not the template's own markup or mentions more than
    the people it addressed (``addressed``)."""
    problems = []
    if content.get("msgtype") != "m.notice":
        problems.append(f"msgtype {content.get('msgtype')!r}")
    body = str(content.get("body", ""))
    formatted = content.get("formatted_body")
    if formatted is not None:
        shape = Shape()
        shape.feed(formatted)
        shape.close()
        problems += shape.other
        pills = {user_link(user) for user in addressed}
        for index, (tag, attrs) in enumerate(shape.tags):
            if tag == "br" and not attrs:
                continue
            href = attrs[0][1] if tag == "a" and len(attrs) == 1 and attrs[0][0] == "href" else None
            if href is None:
                problems.append(f"tag {tag} {attrs}")
            elif index == 0 and href in pills:
                continue
            elif not href.startswith(("https://", "http://")) or href not in body or is_pill_link(href):
                problems.append(f"link {href!r}")
        if set(shape.ends) - {"a"}:
            problems.append(f"end tags {set(shape.ends)}")
        if "".join(shape.shown) != body:
            problems.append("the shown text is not the body")
    mentions = content.get("m.mentions")
    if not isinstance(mentions, dict) or "room" in mentions or set(mentions.get("user_ids", [])) - addressed:
        problems.append(f"m.mentions {mentions!r}")
    return problems


QUOTES = set('"“”„«»')
MATRIX_NAMES = NAMES.filter(lambda name: not (set(name) & QUOTES) and name.strip() == name and "=" not in name)
"""Names that can be typed between quotes in one ``!`` command."""


@pytest.fixture
async def synapse_world(synapse: Synapse, tmp_path: Path) -> AsyncIterator[MatrixWorld]:
    async with matrix_world(synapse, tmp_path) as world:
        yield world


@given(name=MATRIX_NAMES)
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@example(name="C @room https://matrix.to/#/@admin:localhost <b>b</b><img src=x onerror=y>")
@example(name="C </code><script>x</script> &amp; [x](https://e.example) ||s|| @everyone")
async def test_a_nasty_circle_name_on_matrix_stays_text(synapse_world: MatrixWorld, name: str) -> None:
    """Create, list and show a circle with the name on a real Synapse: every notice the bot sends, and the one the
    moderator receives from the homeserver, holds only the template's markup and mentions nobody."""
    world = synapse_world
    moderator = world.people[Actor.MODERATOR]
    addressed = {moderator.user_id}
    sent_before = len(world.bot.sent)
    created = await world.run(Actor.MODERATOR, f'circle create "{name}"')
    listed = await world.run(Actor.MODERATOR, "circle list")
    shown = await world.run(Actor.MODERATOR, f'circle info "{name}"')
    stored = " ".join(name.split())
    assert any(stored in str(content.get("body")) for content in created), created
    assert any(stored in str(content.get("body")) for content in listed), listed
    assert any(stored in str(content.get("body")) for content in shown), shown
    answers = [*created, *listed, *shown]
    problems = [problem for content in answers for problem in content_problems(content, addressed)]
    assert problems == [], problems
    others = [content for _room, content in world.bot.sent[sent_before:] if content not in answers]
    assert [problem for content in others for problem in content_problems(content, set())] == []
    # What the homeserver hands the moderator is the same safe content.
    received = await moderator.expect(
        lambda seen: seen.sender == world.bot.adapter.client.user_id and stored in seen.body
    )
    assert content_problems(received.content, addressed) == [], received.content


async def test_a_suggestion_full_of_mentions_reaches_the_moderators_room_as_text(synapse_world: MatrixWorld) -> None:
    """A member's resource suggestion is user text posted to the moderators' room: no room ping, no markup."""
    world = synapse_world
    member = world.people[Actor.MEMBER]
    before = len(world.bot.sent)
    nasty = "@room https://matrix.to/#/@admin:localhost <b>x</b> <a href='https://evil.example'>y</a> 0800 000 000"
    await world.run(Actor.MEMBER, f"resources suggest {nasty}")
    await world.bot.app.deliverer.drain()
    posted = [content for room, content in world.bot.sent[before:] if room == world.moderators]
    assert posted, "the suggestion did not reach the moderators' room"
    assert [problem for content in posted for problem in content_problems(content, set())] == []
    assert any("https://matrix.to/#/@admin:localhost" in str(content["body"]) for content in posted)
    assert member.user_id  # the suggester is named in text only, never mentioned


async def test_a_crisis_message_full_of_markup_alerts_the_matrix_moderators_as_text(
    synapse_world: MatrixWorld,
) -> None:
    """An alert's excerpt is the member's own words: in the moderators' room it is shown, escaped, and pings nobody
    (no on-call person is configured here, so the alert mentions no one at all)."""
    world = synapse_world
    member = world.people[Actor.MEMBER]
    before = len(world.bot.sent)
    words = "@room <b>help</b> https://matrix.to/#/@admin:localhost <img src=x onerror=y> I want to kill myself"
    await member.say(world.general, words)
    deadline = asyncio.get_running_loop().time() + 15
    posted: list[dict[str, Any]] = []
    while not posted:
        assert asyncio.get_running_loop().time() < deadline, "no alert reached the moderators' room"
        await asyncio.sleep(0.1)  # polling what the bot sent
        await world.bot.app.deliverer.drain()
        posted = [content for room, content in world.bot.sent[before:] if room == world.moderators]
    assert [problem for content in posted for problem in content_problems(content, set())] == []
    assert any("&lt;b&gt;help&lt;/b&gt;" in str(content["formatted_body"]) for content in posted), posted


def test_the_checks_themselves_catch_what_they_look_for() -> None:
    """The payload and content checks above fail on the injections they exist to catch."""
    channel = "/channels/1/messages"
    assert ping_problems([(channel, {"content": "x"})])
    assert ping_problems([(channel, {"content": "x", "allowed_mentions": {"parse": ["everyone"]}})])
    assert ping_problems([(channel, {"content": "x", "allowed_mentions": {"parse": [], "users": [5]}})])
    assert ping_problems([(channel, {"content": "x", "allowed_mentions": {"parse": [], "roles": [7]}})], "8")
    assert not ping_problems([(channel, {"content": "x", "allowed_mentions": {"parse": [], "roles": [8]}})], "8")
    safe = notice("hello")
    assert content_problems(safe, set()) == []
    for bad in (
        {**safe, "formatted_body": 'hello<img src=x onerror="y">', "body": "hello"},
        {**safe, "formatted_body": '<a href="https://matrix.to/#/@admin:localhost">hello</a>'},
        {**safe, "formatted_body": "<b>hello</b>"},
        {**safe, "formatted_body": "hello<!-- x -->"},
        {**safe, "m.mentions": {"room": True}},
        {**safe, "m.mentions": {"user_ids": ["@someone:localhost"]}},
    ):
        assert content_problems(bad, set()), bad
