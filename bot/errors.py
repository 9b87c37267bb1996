"""The project's own exceptions."""

from __future__ import annotations

__all__ = ["DeliveryRefused", "PeerCirclesError", "PlatformCredentialsError", "PlatformError", "UserError"]


class PeerCirclesError(Exception):
    """Base of the project's exceptions."""


class UserError(PeerCirclesError):
    """Something the person asked for cannot be done; shown to them as the translated message ``key``."""

    def __init__(self, key: str, /, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class PlatformError(PeerCirclesError):
    """A platform call failed (network, rate limit, server error) and may work later; adapters raise this at
    their edge. ``retry_after`` is the platform's own advice, in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeliveryRefused(PeerCirclesError):
    """The platform will never accept this delivery (DMs closed, room gone, no permission)."""


class PlatformCredentialsError(PlatformError):
    """A platform refused the bot's credentials: the bot cannot run on it until the owner fixes them."""
