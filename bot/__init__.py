"""Peer Circles: peer-support circles for Discord and Matrix, with a platform-neutral engine."""

__all__ = ["__version__"]

__version__ = "0.1.0"
