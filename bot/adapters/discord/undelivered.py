"""Direct messages Discord refused (the member's DMs are closed), kept in memory to be shown privately on the
member's next interaction with the bot.

Kept only in memory, for a bounded number of members and messages: a restart forgets them (the engine tells
moderators the reply could not be delivered, so a person still follows up). Shown once, then dropped.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["Undelivered"]

PER_MEMBER = 5
MEMBERS = 10_000

Key = tuple[str, str | None]


class Undelivered:
    """Refused direct messages by ``(user id, community id)``; ``None`` when the community was not known."""

    def __init__(self, *, per_member: int = PER_MEMBER, members: int = MEMBERS) -> None:
        self.per_member = per_member
        self.members = members
        self._texts: OrderedDict[Key, list[str]] = OrderedDict()

    def remember(self, user_id: str, community: str | None, text: str) -> None:
        """Keep ``text`` for the member; a repeat of the same text is kept once, the oldest beyond the limit drop."""
        key = (user_id, community)
        texts = self._texts.setdefault(key, [])
        self._texts.move_to_end(key)
        if text in texts:
            return
        texts.append(text)
        del texts[: -self.per_member]
        while len(self._texts) > self.members:
            self._texts.popitem(last=False)

    def take(self, user_id: str, community: str | None) -> list[str]:
        """What is waiting for the member in ``community`` (and anywhere unknown), oldest first; then forgotten."""
        taken = self._texts.pop((user_id, community), [])
        if community is not None:
            taken = self._texts.pop((user_id, None), []) + taken
        return taken

    def forget(self, user_id: str) -> None:
        """Drop everything kept for the member (``me forget``)."""
        for key in [key for key in self._texts if key[0] == user_id]:
            del self._texts[key]

    def __len__(self) -> int:
        return sum(len(texts) for texts in self._texts.values())
