"""Per-person rate limits on commands, so one account cannot flood the bot (or, through it, the moderators).

A token bucket per person: ``burst`` commands at once, refilled at ``per_minute``. It lives in memory: with several
processes each counts its own, which still bounds a flood. Asking for a human and crisis scanning are never limited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import UserRef

__all__ = ["RateLimiter"]

# Buckets of people not seen for this long are dropped, so memory stays bounded.
_FORGET_AFTER_SECONDS = 3600.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: datetime


class RateLimiter:
    """Allows ``burst`` commands at once per person, refilled at ``per_minute``."""

    def __init__(self, per_minute: float = 30.0, burst: int = 10) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[UserRef, _Bucket] = {}

    def allow(self, person: UserRef, now: datetime) -> bool:
        """Take one token for ``person``; ``False`` when they have none left."""
        bucket = self._buckets.get(person)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._sweep(now)
            bucket = self._buckets[person] = _Bucket(self.burst, now)
        elapsed = max(0.0, (now - bucket.updated).total_seconds())
        bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def retry_in(self, person: UserRef) -> int:
        """Seconds until ``person`` may run a command again."""
        bucket = self._buckets.get(person)
        if bucket is None or bucket.tokens >= 1.0:
            return 0
        return max(1, int((1.0 - bucket.tokens) / self.rate + 0.999))

    def _sweep(self, now: datetime) -> None:
        stale = [p for p, b in self._buckets.items() if (now - b.updated).total_seconds() > _FORGET_AFTER_SECONDS]
        for person in stale:
            del self._buckets[person]
