"""arq worker: built from the shared Services, never from its own connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from arq import Worker
from arq.cron import cron
from redis.exceptions import RedisError

from jobs import registry
from nurture.bootstrap import Services

HEARTBEAT_KEY = "nurture:worker:heartbeat"
log = logging.getLogger(__name__)


async def heartbeat(ctx: dict[str, Any]) -> None:
    """Lets /healthz and operators see that some worker is alive."""
    services: Services = ctx["services"]
    await services.redis.set(HEARTBEAT_KEY, str(time.time()), ex=600)


def build_worker(services: Services, *, burst: bool = False, max_jobs: int = 50) -> Worker:
    # The worker owns its Redis pool (arq closes it on shutdown).
    # poll_delay and queue_read_limit raised from arq's defaults, which cap at ~200 jobs/s.
    return Worker(
        functions=registry.FUNCTIONS,
        cron_jobs=[cron(heartbeat, second={0, 30}, run_at_startup=True), *registry.CRON_JOBS],
        redis_settings=services.redis_endpoint.settings,
        ctx={"services": services},
        burst=burst,
        max_jobs=max_jobs,
        poll_delay=0.05,
        queue_read_limit=max_jobs * 4,
        handle_signals=False,
        keep_result=60,
        max_tries=20,
        job_timeout=services.settings.job_timeout,
    )


async def stop_worker(worker: Worker, task: asyncio.Task[None]) -> None:
    """Stop a worker started with `async_run` in `task`; its cancelled jobs are retried later."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # arq's close() re-raises the cancellation of in-flight jobs it just cancelled.
    with contextlib.suppress(asyncio.CancelledError):
        await worker.close()


async def run_supervised(services: Services, *, max_backoff: float = 10.0) -> None:
    """Run a worker until cancelled, through Redis outages.

    arq's poll loop ends on the first connection error, which would leave `nurture worker`
    dead (or `nurture dev` serving with no worker) after a Redis restart. A fresh worker is
    started instead, after a growing pause; jobs lost with Redis come back through the
    leases and sweepers.
    """
    backoff = 0.5
    while True:
        worker = build_worker(services)
        started = time.monotonic()
        try:
            await worker.async_run()
            return
        except (RedisError, OSError) as error:
            log.warning("worker lost Redis (%r); starting again in %.1f s", error, backoff)
        finally:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await worker.close()
        backoff = 0.5 if time.monotonic() - started > 60 else min(backoff * 2, max_backoff)
        await asyncio.sleep(backoff)
