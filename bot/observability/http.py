"""An optional local HTTP endpoint: ``/healthz`` (ready or not, and why) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.observability.metrics import Metrics

__all__ = ["HealthCheck", "ObservabilityServer"]

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[dict[str, bool]]]
"""Returns each part's readiness: storage, scheduler, every adapter."""


class ObservabilityServer:
    """Serves /healthz and /metrics on a local address; started and stopped with the application."""

    def __init__(self, metrics: Metrics, health: HealthCheck, host: str, port: int) -> None:
        self.metrics = metrics
        self.health = health
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        parts = await self.health()
        ready = all(parts.values())
        return web.json_response({"ready": ready, "parts": parts}, status=200 if ready else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> int:
        """Start serving; returns the bound port (useful when configured as 0)."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        bound = int(sockets[0].getsockname()[1]) if sockets else self.port
        log.info("observability endpoint on http://%s:%d (/healthz, /metrics)", self.host, bound)
        return bound

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
