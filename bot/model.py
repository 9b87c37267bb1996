"""Platform-neutral identifiers, roles, incoming events and outgoing actions.

Every person, room and community is qualified by its platform, so a Discord snowflake and a Matrix
``@user:server`` can never be confused. The engine sees only these types; adapters translate to and from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import NewType

__all__ = [
    "Action",
    "CircleId",
    "CloseSpace",
    "CommandInvocation",
    "CommunityId",
    "CommunityRef",
    "DirectMessage",
    "IncomingMessage",
    "MemberId",
    "OpenSpace",
    "Platform",
    "PostToRoom",
    "Reply",
    "Role",
    "RoomRef",
    "UserRef",
]


class Platform(StrEnum):
    """A chat platform the bot can run on."""

    CONSOLE = "console"
    DISCORD = "discord"
    MATRIX = "matrix"


# Database keys: distinct types so a circle id can never be passed where a member id is expected.
CommunityId = NewType("CommunityId", int)
MemberId = NewType("MemberId", int)
CircleId = NewType("CircleId", int)


@dataclass(frozen=True, slots=True)
class UserRef:
    """A person on one platform: ``(platform, native id)``."""

    platform: Platform
    native_id: str

    def __str__(self) -> str:
        return f"{self.platform.value}:{self.native_id}"


@dataclass(frozen=True, slots=True)
class RoomRef:
    """A channel, thread or room on one platform."""

    platform: Platform
    native_id: str

    def __str__(self) -> str:
        return f"{self.platform.value}:{self.native_id}"


@dataclass(frozen=True, slots=True)
class CommunityRef:
    """A Discord guild, a Matrix space or set of rooms, or the console community."""

    platform: Platform
    native_id: str

    def __str__(self) -> str:
        return f"{self.platform.value}:{self.native_id}"


class Role(IntEnum):
    """Engine roles, in increasing order of authority within a community.

    Adapters map platform permissions (Discord roles, Matrix power levels) to these; the engine checks only these.
    """

    MEMBER = 0
    FACILITATOR = 1
    MODERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        """The lower-case name used in config and commands."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named ``text`` (case-insensitive); raises ``ValueError`` when there is none."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(text) from None


@dataclass(frozen=True, slots=True)
class CommandInvocation:
    """A member ran a command. Arguments are already typed by the adapter or the text parser."""

    community: CommunityRef
    author: UserRef
    command: str
    """The qualified command name, for example ``"circle join"``."""
    args: Mapping[str, object] = field(default_factory=dict)
    room: RoomRef | None = None
    """Where it was typed; ``None`` for a direct message."""
    platform_role: Role = Role.MEMBER
    """The highest role the platform grants (guild owner, power level, configured role)."""
    author_display: str = ""
    """A display name, used only to address the person in replies; never stored."""


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer the invocation. ``private`` answers are seen only by the invoker (ephemeral, or a DM)."""

    text: str
    private: bool = True


@dataclass(frozen=True, slots=True)
class DirectMessage:
    """A private message to one person, for example a waitlist promotion."""

    to: UserRef
    text: str


@dataclass(frozen=True, slots=True)
class PostToRoom:
    """A message posted to a channel or room."""

    room: RoomRef
    text: str


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """Text a person wrote where the bot can read it: a channel or room message, an edit, or a DM to the bot.

    The engine scans it and keeps nothing of it unless it is escalated.
    """

    community: CommunityRef
    author: UserRef
    text: str
    event_id: str
    """The platform's id for this message (or edit), so a replayed event is never answered twice."""
    room: RoomRef | None = None
    """``None`` for a direct message to the bot."""
    link: str | None = None
    """A link moderators can open to see the message in context."""
    edited: bool = False
    author_display: str = ""


@dataclass(frozen=True, slots=True)
class OpenSpace:
    """Open a private space for a session (a Discord private thread, a Matrix room) with these members in it."""

    room: RoomRef
    title: str
    members: tuple[UserRef, ...]


@dataclass(frozen=True, slots=True)
class CloseSpace:
    """Archive a session's space."""

    room: RoomRef


Action = Reply | DirectMessage | PostToRoom | OpenSpace | CloseSpace
