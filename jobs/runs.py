"""The last run of every periodic job, so an operator can see what ran, how long it took and
whether it finished (`nurture jobs`), and metrics by job and outcome."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, cast

from arq.typing import WorkerCoroutine

from core.services import Services

LAST_RUNS = "nurture:cron:last"
CronJob = Callable[[dict[str, Any]], Coroutine[Any, Any, Any]]


@dataclass(frozen=True)
class LastRun:
    name: str
    started_at: float
    seconds: float
    outcome: str  # completed, failed, cancelled (arq's job timeout or a stopped worker)
    detail: str


def recorded(job: CronJob) -> WorkerCoroutine:
    """The cron job, recording its last run (Redis) and its duration and outcome (metrics)."""

    @functools.wraps(job)
    async def wrapper(ctx: dict[str, Any]) -> Any:
        services: Services = ctx["services"]
        started, outcome, detail = time.time(), "failed", ""
        try:
            result = await job(ctx)
            outcome, detail = "completed", "" if result is None else str(result)
            return result
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception as error:
            detail = f"{type(error).__name__}: {error}"[:300]
            raise
        finally:
            await _record(services, LastRun(job.__name__, started, time.time() - started, outcome, detail))

    return cast(WorkerCoroutine, wrapper)


async def _record(services: Services, run: LastRun) -> None:
    services.metrics.cron_runs.labels(run.name, run.outcome).inc()
    services.metrics.cron_seconds.labels(run.name).observe(run.seconds)
    with contextlib.suppress(Exception):  # Redis gone: the metrics above still tell
        await asyncio.shield(cast(Awaitable[int], services.redis.hset(LAST_RUNS, run.name, json.dumps(run.__dict__))))


async def last_runs(services: Services) -> list[LastRun]:
    raw = await cast(Awaitable[dict[bytes, bytes]], services.redis.hgetall(LAST_RUNS))
    return sorted((LastRun(**json.loads(value)) for value in raw.values()), key=lambda run: run.name)
