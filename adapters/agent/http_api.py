"""Health and metrics over HTTP (aiohttp), off unless ``[http] enabled = true``.

* ``GET /active``  200 only on the active node that takes writes, else 503
  (what HAProxy or a cloud load balancer checks; Patroni's ``/primary``);
* ``GET /standby`` 200 on a standby, else 503;
* ``GET /health``  200 while the agent runs and its log is booted;
* ``GET /status``  the JSON of ``hacore status`` (this node's view);
* ``GET /metrics`` Prometheus text format (prometheus_client).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST


class HttpApi:
    def __init__(
        self,
        *,
        address: str,
        port: int,
        is_active: Callable[[], bool],
        is_standby: Callable[[], bool],
        is_healthy: Callable[[], bool],
        status: Callable[[], dict[str, Any]],
        metrics: Callable[[], bytes],
    ) -> None:
        self.address = address
        self.port = port
        self._is_active = is_active
        self._is_standby = is_standby
        self._is_healthy = is_healthy
        self._status = status
        self._metrics = metrics
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/active", self._active)
        app.router.add_get("/standby", self._standby)
        app.router.add_get("/health", self._health)
        app.router.add_get("/status", self._status_json)
        app.router.add_get("/metrics", self._metrics_text)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.address, self.port, reuse_address=True)
        await site.start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @staticmethod
    def _yes_no(ok: bool, what: str) -> web.Response:
        return web.Response(status=200 if ok else 503, text=f"{what}\n" if ok else f"not {what}\n")

    async def _active(self, _: web.Request) -> web.Response:
        return self._yes_no(self._is_active(), "active")

    async def _standby(self, _: web.Request) -> web.Response:
        return self._yes_no(self._is_standby(), "standby")

    async def _health(self, _: web.Request) -> web.Response:
        return self._yes_no(self._is_healthy(), "healthy")

    async def _status_json(self, _: web.Request) -> web.Response:
        return web.json_response(self._status())

    async def _metrics_text(self, _: web.Request) -> web.Response:
        return web.Response(body=self._metrics(), headers={"Content-Type": CONTENT_TYPE_LATEST})
