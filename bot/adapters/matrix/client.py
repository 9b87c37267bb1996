"""The connection to the homeserver: building the nio client, signing in, and turning nio errors into ours.

nio is told never to retry by itself (``max_limit_exceeded=0``, ``max_timeouts=0``), so every 429, 5xx and network
error reaches this adapter, which waits as the homeserver asks (``retry_after_ms``) or backs off, and never crashes
its loop over it.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from nio import AsyncClient, AsyncClientConfig, ErrorResponse, LoginResponse, WhoamiResponse

from bot.config.platforms import MatrixSettings
from bot.errors import DeliveryRefused, PeerCirclesError, PlatformCredentialsError, PlatformError

__all__ = [
    "NETWORK_ERRORS",
    "Backoff",
    "build_client",
    "check",
    "encryption_available",
    "error_for",
    "maintain_keys",
    "sign_in",
    "sync_filter",
]

log = logging.getLogger(__name__)

NETWORK_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, TimeoutError, OSError)
"""What a dropped connection or a homeserver restart raises out of nio."""

_CREDENTIALS = frozenset({"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN", "M_USER_DEACTIVATED"})
_RETRYABLE = frozenset({"M_LIMIT_EXCEEDED", "M_UNKNOWN_ERROR"})

T = TypeVar("T")


class Backoff:
    """Capped exponential delays (1 s, 2 s, 4 s ... ``cap``); a homeserver's own ``retry_after`` wins when longer."""

    def __init__(self, first: float = 1.0, cap: float = 60.0) -> None:
        self.first = first
        self.cap = cap
        self.failures = 0

    def next(self, retry_after: float | None = None) -> float:
        """The delay before the next attempt."""
        delay = min(self.first * 2**self.failures, self.cap)
        self.failures = min(self.failures + 1, 30)
        return float(max(delay, retry_after or 0.0))

    def reset(self) -> None:
        """A success: start again from the first delay."""
        self.failures = 0


def encryption_available() -> bool:
    """Whether nio was installed with its encryption extra (``matrix-nio[e2e]``)."""
    from nio.crypto import ENCRYPTION_ENABLED

    return bool(ENCRYPTION_ENABLED)


def build_client(settings: MatrixSettings, store_path: Path | None = None) -> AsyncClient:
    """A nio client for the bot's account with its stable device id; nothing is sent yet.

    With ``store_path`` (encryption on), the crypto store (the device's keys and sessions) lives there and is kept
    across restarts; without ``matrix-nio[e2e]`` installed that is a configuration error, raised here at start.
    """
    assert settings.homeserver is not None
    assert settings.user_id is not None
    if store_path is not None and not encryption_available():
        from bot.app import StartupError  # imported here: bot.app loads the adapters

        raise StartupError(
            "platforms.matrix.encryption is on but matrix-nio's encryption support is not installed: "
            "pip install 'peer-circles[matrix-e2e]' (matrix-nio[e2e]), or turn encryption off"
        )
    config = AsyncClientConfig(
        max_limit_exceeded=0,
        max_timeouts=0,
        request_timeout=90,
        encryption_enabled=store_path is not None,
        store_sync_tokens=False,
    )
    kwargs: dict[str, Any] = {"device_id": settings.device_id, "config": config}
    if store_path is not None:
        store_path.mkdir(parents=True, exist_ok=True)
        kwargs["store_path"] = str(store_path)
    return AsyncClient(settings.homeserver.rstrip("/"), settings.user_id, **kwargs)


def _status(response: ErrorResponse) -> int | None:
    transport = getattr(response, "transport_response", None)
    status = getattr(transport, "status", None)
    return status if isinstance(status, int) else None


def error_for(response: ErrorResponse, what: str) -> PeerCirclesError:
    """Our exception for a homeserver's error answer: retry later, or never possible."""
    status = _status(response)
    retry_after = response.retry_after_ms / 1000 if response.retry_after_ms else None
    message = f"{what}: {response}"
    if status == 429 or response.status_code in _RETRYABLE or (status is not None and status >= 500):
        return PlatformError(message, retry_after=retry_after)
    if status is None and response.status_code is None:
        return PlatformError(message)  # no answer we can read: a proxy page, a cut connection
    return DeliveryRefused(message)


def check(response: T | ErrorResponse, what: str) -> T:
    """``response`` unless it is an error, which is raised as ours."""
    if isinstance(response, ErrorResponse):
        raise error_for(response, what)
    return response


async def sign_in(client: AsyncClient, settings: MatrixSettings) -> None:
    """Sign in with the access token (checked by ``whoami``) or the password.

    Raises :class:`PlatformCredentialsError` when the homeserver refuses them, :class:`PlatformError` when it
    cannot be reached (the caller backs off and tries again).
    """
    assert settings.user_id is not None
    try:
        if settings.access_token is not None:
            token = settings.access_token.get_secret_value()
            client.access_token = token
            answer: Any = await client.whoami()
            if isinstance(answer, WhoamiResponse):
                if answer.user_id != settings.user_id:
                    raise PlatformCredentialsError(
                        f"the access token belongs to {answer.user_id}, not to {settings.user_id}"
                    )
                # An access token belongs to one device: its keys must be published under that device's id.
                device = answer.device_id or settings.device_id
                if device != settings.device_id:
                    log.info("the access token is for device %s (configured: %s); using it", device, settings.device_id)
                if client.user_id != settings.user_id or client.device_id != device or client.olm is None:
                    client.restore_login(settings.user_id, device, token)  # loads the crypto store, if any
                return
        else:
            assert settings.password is not None
            answer = await client.login(settings.password.get_secret_value(), device_name="Peer Circles")
            if isinstance(answer, LoginResponse):
                return
    except NETWORK_ERRORS as error:
        raise PlatformError(f"cannot reach {client.homeserver}: {error!r}") from error
    assert isinstance(answer, ErrorResponse)
    if answer.status_code in _CREDENTIALS or _status(answer) in (401, 403):
        raise PlatformCredentialsError(f"{client.homeserver} refused the bot's credentials: {answer}")
    raise error_for(answer, "sign-in")


async def maintain_keys(client: AsyncClient) -> None:
    """What nio's own sync loop does for encryption: publish this device's keys, learn the others' devices, claim
    one-time keys for new sessions and send queued to-device messages (room keys)."""
    try:
        if client.should_upload_keys:
            check(await client.keys_upload(), "uploading the device keys")
        if client.should_query_keys:
            check(await client.keys_query(), "querying device keys")
        if client.should_claim_keys:
            check(await client.keys_claim(client.get_users_for_key_claiming()), "claiming one-time keys")
        await client.send_to_device_messages()
    except NETWORK_ERRORS as error:
        raise PlatformError(f"exchanging encryption keys: {error!r}") from error


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` unless ``stop`` is set first; returns whether it was."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


def sync_filter(timeline_limit: int | None = None) -> dict[str, Any]:
    """What the bot's syncs ask for: rooms' timelines and state, invitations and device messages, but no presence,
    typing, read receipts or account data. The bot reads none of them, and each one a member's client sends would
    otherwise wake the bot's sync and cost the homeserver a response."""
    room: dict[str, Any] = {"ephemeral": {"types": []}, "account_data": {"types": []}}
    if timeline_limit:
        room["timeline"] = {"limit": timeline_limit}
    return {"presence": {"types": []}, "account_data": {"types": []}, "room": room}
