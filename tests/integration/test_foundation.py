"""The base: migrations agree with the models, health reports both backends, the worker runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from arq import Worker

from core.services import Services
from core.settings import Settings
from nurture.migrate import apply_migrations, pending_model_changes
from nurture.worker import HEARTBEAT_KEY, build_worker
from tests.support import sample, shopify_headers


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


def _metric(text: str, name: str, **labels: str) -> float:
    wanted = name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_what_happened(client: TestClient, services: Services) -> None:
    before = await (await client.get("/metrics")).text()
    assert "# TYPE nurture_webhook_deliveries_total counter" in before
    body = sample("shopify/customers-create.json")
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "customers/create", "metric-1")
    for _ in range(3):  # one delivery, then two retries of it
        assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200
    after = await (await client.get("/metrics")).text()
    counted = {result: _metric(after, "nurture_webhook_deliveries_total", provider="shopify", result=result)
               - _metric(before, "nurture_webhook_deliveries_total", provider="shopify", result=result)
               for result in ("accepted", "duplicate")}
    assert counted == {"accepted": 1.0, "duplicate": 2.0}


async def test_worker_runs_jobs_in_burst_mode(
    services: Services, run_worker: Callable[[], Awaitable[int]]
) -> None:
    await run_worker()
    assert await services.redis.get(HEARTBEAT_KEY) is not None


async def test_driven_workers_leave_wall_clock_scans_to_their_driver(services: Services) -> None:
    # A burst worker in the demo or the tests runs on a hand-moved clock: a cron scan firing
    # because a real minute turned over mid-run made an abandoned-checkout test flaky in CI.
    def names(worker: Worker) -> set[str]:
        return {job.name for job in worker.cron_jobs}

    served, driven = build_worker(services), build_worker(services, burst=True, scheduled=False)
    try:
        assert "cron:scan_abandoned_checkouts" in names(served)
        assert names(driven) == {"cron:heartbeat"}
    finally:
        await served.close()
        await driven.close()
