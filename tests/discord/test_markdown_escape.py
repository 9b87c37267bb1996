"""Discord Markdown in the bot's messages: member text shows exactly as typed, the bot's own words look the same,
and mentions, timestamps, custom emoji and web addresses keep working.

:func:`markdown_problems` reads a sent message the way Discord's Markdown parser does (its rules for web addresses,
``<...>`` links, mentions and emoji, then escapes and formatting characters) and reports anything left that Discord
could format; the flow tests in tests/discord and tests/property use it on what went over the wire.
"""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.adapters.discord.render import MESSAGE_LIMIT, clip_literal, escape_markdown, message_parts

# -- reading a message as Discord does -------------------------------------------------------------------------------

DISCORD_URL = re.compile(r"https?://[^\s<]+[^<.,:;\"')\]\s]")
"""The web addresses Discord links by itself (simple-markdown's ``url`` rule): nothing inside one is formatted."""
DISCORD_AUTOLINK = re.compile(r"<[^: >]+:/[^ >]+>")
"""A web address in angle brackets (the ``autolink`` rule)."""
DISCORD_TOKEN = re.compile(r"<(?:@[!&]?[0-9]+|#[0-9]+|t:-?[0-9]+(?::[A-Za-z])?|a?:[A-Za-z0-9_]+:[0-9]+)>")
"""Mentions, channel links, timestamps and custom emoji."""
ACTIVE = frozenset("\\*_~|`[]")
NEVER_BARE = frozenset("\\*|`[]")
"""What the bot's escaping leaves unescaped nowhere, not even inside a web address or an emoji (only ``_`` and ``~``
stand bare there, as real addresses and emoji names hold them)."""
BREAKS = re.compile(r"[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
LINE_MARKDOWN = re.compile(r"\s*(?:>|#{1,3}\s|-#?\s|[-+*]\s|[0-9]+\.\s)")
"""A quote, heading, subtext or list item: Markdown only at the start of a line."""


def markdown_problems(sent: str) -> list[str]:
    """What in ``sent`` (a message content the bot sent) Discord could still show as Markdown rather than text."""
    problems = []
    index = 0
    while index < len(sent):
        char = sent[index]
        if char == "\\":
            if index + 1 == len(sent):
                problems.append("a backslash escaping nothing at the end")
            index += 2
            continue
        token = DISCORD_TOKEN.match(sent, index) or DISCORD_AUTOLINK.match(sent, index)
        token = token or DISCORD_URL.match(sent, index)
        if token is not None:
            index = token.end()
            if token.re is DISCORD_URL and sent.startswith("]", index) and sent[index - 1] == "\\":
                # Discord's address runs on through "\" and stops before "]": that lone "]" closes nothing, as no
                # "[" ever stands bare (bare_characters checks that), so it cannot make a masked link.
                index += 1
            continue
        if char in ACTIVE:
            problems.append(f"{char!r} unescaped at {index}: {sent[max(0, index - 10) : index + 10]!r}")
        index += 1
    for line in BREAKS.split(sent):
        if LINE_MARKDOWN.match(line):
            problems.append(f"a line starts with Markdown: {line[:20]!r}")
    return problems


def bare_characters(sent: str) -> set[str]:
    """The characters of :data:`NEVER_BARE` that stand without a backslash before them anywhere in ``sent``."""
    bare = set()
    index = 0
    while index < len(sent):
        if sent[index] == "\\":
            index += 2
            continue
        if sent[index] in NEVER_BARE:
            bare.add(sent[index])
        index += 1
    return bare


def unescape(sent: str) -> str:
    """What Discord shows for escaped text: each backslash dropped, the character after it kept."""
    return re.sub(r"\\(.)", r"\1", sent, flags=re.DOTALL)


# -- examples ---------------------------------------------------------------------------------------------------------


def test_a_masked_link_and_formatting_show_as_typed() -> None:
    name = "[Crisis line](https://evil.example) **x** ||y||"
    assert escape_markdown(name) == r"\[Crisis line\](https://evil.example) \*\*x\*\* \|\|y\|\|"
    assert escape_markdown("__u__ ~~s~~ `c`") == r"\_\_u\_\_ \~\~s\~\~ \`c\`"
    assert escape_markdown("```py\nx```") == "\\`\\`\\`py\nx\\`\\`\\`"
    assert escape_markdown("[x](<https://evil.example>)") == r"\[x\](<https://evil.example>)"
    assert escape_markdown("[https://a.example](https://evil.example)") == (
        r"\[https://a.example\](https://evil.example)"
    )


def test_a_backslash_is_escaped_too_so_it_cannot_turn_markdown_back_on() -> None:
    assert escape_markdown(r"\*not bold\*") == r"\\\*not bold\\\*"
    assert escape_markdown("\\") == "\\\\"
    assert unescape(escape_markdown(r"\*x\\")) == r"\*x\\"


def test_escaping_twice_shows_the_backslashes() -> None:
    assert escape_markdown(escape_markdown("*")) == r"\\\*"
    assert unescape(escape_markdown(escape_markdown("*"))) == r"\*"


def test_line_starts_are_escaped_only_where_markdown_would_start() -> None:
    text = "# h1\n## h2\n### h3\n-# small\n> quote\n>>> quotes\n- item\n+ item\n* item\n12. item\n   - nested"
    text += "\r\n# after CRLF"
    assert escape_markdown(text) == (
        "\\# h1\n\\## h2\n\\### h3\n\\-# small\n\\> quote\n\\>>> quotes\n\\- item\n\\+ item\n\\* item\n12\\. item\n"
        "   \\- nested\r\n\\# after CRLF"
    )
    inactive = "#12 Urgent · message\n#### four\n1.5 litres\na # b > c - d\n-- dashes\n+1\n>"
    assert escape_markdown(inactive) == inactive[:-1] + "\\>"  # a lone ">" is escaped all the same
    assert escape_markdown("a\u2028# x") == "a\u2028\\# x"


def test_mentions_timestamps_emoji_and_web_addresses_keep_working() -> None:
    kept = [
        "<@123456789012345678>",
        "<@!123>",
        "<@&456>",
        "<#789>",
        "<t:1767225600:R>",
        "<t:-5>",
        "<:blob_cat:123>",
        "<a:party_time:456>",
        "https://example.org/a_b~c_d",
        "https://discord.com/channels/1/2/3",
        "<https://example.org/_x_>",
        "http://example.org/?q=a_b",
    ]
    for token in kept:
        assert escape_markdown(token) == token, token
        assert escape_markdown(f"see {token} now") == f"see {token} now", token
    # Punctuation after an address is not part of it; brackets, pipes, stars and backticks never are.
    assert escape_markdown("(https://example.org/a_b).") == "(https://example.org/a_b)."
    assert escape_markdown("https://example.org/a|b*c") == r"https://example.org/a\|b\*c"
    # Not a mention or an emoji (a non-ASCII name, no closing bracket): its underscore is escaped.
    assert escape_markdown("<:é_x:1>") == r"<:é\_x:1>"
    assert escape_markdown("<:a_b:12") == r"<:a\_b:12"
    # An address glued to a word is left to Discord to link or not; its characters are escaped to be safe.
    assert escape_markdown("x_https://a.example/_b_") == r"x\_https://a.example/\_b\_"


def test_the_bots_own_words_are_unchanged() -> None:
    words = "Welcome to \"Evening circle\". You're in: you'll hear about its sessions here (at 19:00, #3 of 5) - ok!"
    assert escape_markdown(words) == words
    assert escape_markdown("أهلًا بك في «دائرة المساء». #1 · 3/12") == "أهلًا بك في «دائرة المساء». #1 · 3/12"


def test_message_parts_hold_the_limit_after_escaping() -> None:
    parts = message_parts("*" * 5000)
    assert [len(part) for part in parts] == [2000, 2000, 2000, 2000, 2000]
    assert all(markdown_problems(part) == [] for part in parts)
    assert "".join(unescape(part) for part in parts) == "*" * 5000


def test_a_split_in_a_long_line_starts_the_next_message_as_text() -> None:
    # The second message starts with "# y": on its own it would be a heading.
    parts = message_parts("x" * 1999 + "_# y")
    assert parts == ["x" * 1999, "\\_# y"]
    parts = message_parts("x" * 2000 + "# y")
    assert parts == ["x" * 2000, "\\# y"]
    parts = message_parts("x" * 1999 + "* y")
    assert parts == ["x" * 1999, "\\* y"]
    assert all(markdown_problems(part) == [] for part in parts)


def test_a_web_address_moves_to_the_next_message_rather_than_break() -> None:
    address = "https://example.org/a_b_c"
    parts = message_parts("x" * 1990 + " " + address)
    assert parts == ["x" * 1990 + " ", address]


def test_clip_literal_never_leaves_a_backslash_escaping_the_ellipsis() -> None:
    assert clip_literal("ab*c", 4) == "ab…"
    assert clip_literal("abc*", 4) == "abc…"
    assert clip_literal("a*", 5) == "a\\*"
    assert clip_literal("*" * 10, 6) == "\\*\\*…"


def test_the_checks_catch_what_they_look_for() -> None:
    assert markdown_problems("**x**")
    assert markdown_problems("[x](https://evil.example)")
    assert markdown_problems("a\n# b")
    assert markdown_problems("x\\")
    assert markdown_problems("\\\\*")
    assert markdown_problems(escape_markdown("a") + "\n> b")
    assert not markdown_problems("https://example.org/a_b_ <@1> <:a_b:2> <https://x.example/_y_>")
    assert bare_characters("a\\*b|") == {"|"}


# -- properties -------------------------------------------------------------------------------------------------------

MARKDOWN = [
    "*",
    "**",
    "_",
    "__",
    "~~",
    "||",
    "`",
    "```",
    "\\",
    "\\*",
    "[",
    "]",
    "(",
    ")",
    "<",
    ">",
    "<@123>",
    "<@!1>",
    "<@&2>",
    "<#3>",
    "<t:1:R>",
    "<:a_b:12>",
    "<a:c_d:3>",
    "https://example.org/a_b*c|d~e",
    "https://x.example",
    "http://",
    "<https://example.org/_x_>",
    "[x](https://evil.example)",
    "[x](<https://evil.example>)",
    "# ",
    "## ",
    "### ",
    "-# ",
    "> ",
    ">>> ",
    "- ",
    "+ ",
    "* ",
    "1. ",
    "12. ",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\t",
    "\u2028",
    "\u00a0",
]
TEXT = st.lists(st.one_of(st.sampled_from(MARKDOWN), st.text(max_size=6)), max_size=24).map("".join)


@given(TEXT)
@settings(max_examples=1500, deadline=None)
@example("\\")
@example("1. ")
@example(" >\u00a0x")
@example("a\r# b")
@example("https://a.example/]x")
@example("<:a_b:1")
def test_escaped_text_shows_exactly_what_was_written_and_nothing_formats(text: str) -> None:
    escaped = escape_markdown(text)
    assert unescape(escaped) == text
    assert markdown_problems(escaped) == []
    assert bare_characters(escaped) == set()
    assert len(text) <= len(escaped) <= 2 * len(text)
    plain = not (set(text) & ACTIVE) and not any(LINE_MARKDOWN.match(line) for line in BREAKS.split(text))
    if plain:
        assert escaped == text  # nothing is escaped that could never format


@given(TEXT, st.integers(min_value=4, max_value=60))
@settings(max_examples=600, deadline=None)
@example("x" * 30 + "# y", 31)
@example("a" + "\\" * 40, 10)
def test_every_message_part_fits_shows_its_share_and_formats_nothing(text: str, limit: int) -> None:
    parts = message_parts(text, limit)
    assert parts
    assert all(len(part) <= limit for part in parts)
    if not text.strip():
        return
    assert all(part.strip() for part in parts), "Discord refuses a blank message"
    for part in parts:
        assert markdown_problems(part) == [], part
        assert bare_characters(part) == set(), part

    def ink(value: str) -> str:
        return "".join(char for char in value if not char.isspace())

    assert ink("".join(unescape(part) for part in parts)) == ink(text)


@given(TEXT)
@settings(max_examples=200, deadline=None)
def test_short_text_is_one_message_escaped_as_a_whole(text: str) -> None:
    if text.strip() and len(escape_markdown(text)) <= MESSAGE_LIMIT:
        assert message_parts(text) == [escape_markdown(text.lstrip("\n"))]  # leading blank lines are left out
