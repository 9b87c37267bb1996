"""Which configured community a Matrix room belongs to, and which invitations the bot accepts.

A community is a space (rooms whose ``m.space.parent`` is the space, or that the space lists as children) or a
configured set of rooms; its moderators' rooms belong to it too. Aliases in the configuration are resolved to room
ids when the bot connects.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from nio import AsyncClient, MatrixRoom, RoomResolveAliasResponse

from bot.config.communities import Community
from bot.model import CommunityRef, Platform

__all__ = ["CommunityMap"]

log = logging.getLogger(__name__)


class CommunityMap:
    """The Matrix communities of the configuration, looked up by room."""

    def __init__(self, communities: Iterable[Community]) -> None:
        self.communities = [c for c in communities if c.platform is Platform.MATRIX]
        self.aliases: dict[str, str] = {}
        self._rooms: dict[str, Community] = {}
        self._index()

    def _places(self, community: Community) -> list[str]:
        moderators = community.moderators
        places = [*community.rooms, moderators.destination, moderators.fallback, community.space]
        return [self.aliases.get(p, p) for p in places if p]

    def _index(self) -> None:
        self._rooms = {}
        for community in self.communities:
            for place in self._places(community):
                self._rooms.setdefault(place, community)

    async def resolve_aliases(self, client: AsyncClient) -> None:
        """Look up every ``#alias:server`` in the configuration; an alias that does not resolve is logged."""
        for community in self.communities:
            moderators = community.moderators
            for place in (*community.rooms, moderators.destination, moderators.fallback):
                if place and place.startswith("#") and place not in self.aliases:
                    answer = await client.room_resolve_alias(place)
                    if isinstance(answer, RoomResolveAliasResponse):
                        self.aliases[place] = answer.room_id
                    else:
                        log.error("community %s: cannot resolve %s: %s", community.id, place, answer)
        self._index()

    def room_id(self, place: str) -> str:
        """A configured place as a room id (aliases resolved when known)."""
        return self.aliases.get(place, place)

    @staticmethod
    def ref(community: Community) -> CommunityRef:
        """The engine's reference for a community."""
        return CommunityRef(Platform.MATRIX, community.native_id)

    def for_room(self, room_id: str, room: MatrixRoom | None = None) -> Community | None:
        """The community ``room_id`` belongs to, if any."""
        found = self._rooms.get(room_id)
        if found is not None or room is None:
            return found
        for community in self.communities:
            if community.space is not None and community.space in room.parents:
                return community
        return None

    def by_native_id(self, native_id: str) -> Community | None:
        """The community whose engine id is ``native_id``."""
        return next((c for c in self.communities if c.native_id == native_id), None)

    def configured_user(self, user_id: str) -> bool:
        """Whether ``user_id`` is named in any community's role lists or as its on-call moderator."""
        for community in self.communities:
            roles = community.roles
            if user_id in (*roles.admin, *roles.moderator, *roles.facilitator, community.moderators.on_call_role):
                return True
        return False

    def for_user(self, user_id: str, rooms: dict[str, MatrixRoom]) -> Community | None:
        """The community of a person writing to the bot directly: one whose rooms they are in, else the only one."""
        for room_id, room in rooms.items():
            community = self.for_room(room_id, room)
            if community is not None and user_id in room.users:
                return community
        return self.communities[0] if len(self.communities) == 1 else None
