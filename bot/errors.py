"""The project's own exceptions."""

from __future__ import annotations

__all__ = ["PeerCirclesError", "PlatformCredentialsError", "PlatformError", "UserError"]


class PeerCirclesError(Exception):
    """Base of the project's exceptions."""


class UserError(PeerCirclesError):
    """Something the person asked for cannot be done; shown to them as the translated message ``key``."""

    def __init__(self, key: str, /, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class PlatformError(PeerCirclesError):
    """A platform call failed (network, rate limit, server error); adapters raise this at their edge."""


class PlatformCredentialsError(PlatformError):
    """A platform refused the bot's credentials: the bot cannot run on it until the owner fixes them."""
