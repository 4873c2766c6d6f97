"""The base: migrations agree with the models, health reports both backends, the worker runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from jobs.worker import HEARTBEAT_KEY
from nurture.bootstrap import Services
from nurture.migrate import apply_migrations, pending_model_changes
from nurture.settings import Settings


async def test_models_and_migrations_agree(settings: Settings) -> None:
    assert await pending_model_changes(settings) == []


async def test_migrate_twice_changes_nothing(settings: Settings, services: Services) -> None:
    # The session fixture already migrated this database.
    assert await apply_migrations(settings) == []


async def test_healthz_reports_database_and_redis(client: TestClient, settings: Settings) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["ok"] is True
    assert body["database"] == {"ok": True, "backend": "postgresql" if settings.is_postgres else "sqlite"}
    assert body["redis"]["ok"] is True


async def test_metrics_are_prometheus_text(client: TestClient) -> None:
    response = await client.get("/metrics")
    assert response.status == 200
    text = await response.text()
    assert "# TYPE nurture_webhook_deliveries_total counter" in text


async def test_worker_runs_jobs_in_burst_mode(
    services: Services, run_worker: Callable[[], Awaitable[int]]
) -> None:
    await run_worker()
    assert await services.redis.get(HEARTBEAT_KEY) is not None
