"""`GET /healthz` (database and Redis reachability) and `GET /metrics` (Prometheus)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from tortoise.connection import get_connection

from core.services import Services
from webhooks.keys import SERVICES


async def _check(probe: asyncio.Future | object) -> dict[str, object]:
    try:
        await asyncio.wait_for(probe, timeout=2)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - any failure means "down", reported verbatim
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True}


async def check_health(services: Services) -> dict[str, object]:
    database = await _check(get_connection("default").execute_query("SELECT 1"))
    redis = await _check(services.redis.ping())
    return {
        "ok": bool(database["ok"] and redis["ok"]),
        "database": {**database, "backend": "postgresql" if services.settings.is_postgres else "sqlite"},
        "redis": {**redis, "endpoint": services.redis_endpoint.describe()},
    }


async def healthz(request: web.Request) -> web.Response:
    report = await check_health(request.app[SERVICES])
    return web.json_response(report, status=200 if report["ok"] else 503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[SERVICES].metrics.render()
    return web.Response(body=body, content_type="text/plain", charset="utf-8")


def register(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
