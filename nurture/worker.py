"""The arq worker: every job of every layer (jobs/, webhooks/jobs.py, bot/jobs.py), built from the
shared Services, never from its own connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from arq import Worker, func
from arq.constants import default_queue_name
from arq.cron import cron
from redis.exceptions import RedisError

from bot import jobs as slack_jobs
from bot.diagrams import journey_diagram
from bot.digest import post_weekly_digest
from core.services import Services
from jobs.checkouts import scan_abandoned_checkouts
from jobs.coupons import create_discount_code
from jobs.emails import send_email, sweep_queued_emails
from jobs.intelligence import continue_refresh, refresh_intelligence
from jobs.journeys import scan_time_triggers_job, start_journey
from jobs.outbound import call_webhook
from jobs.quotes import complete_accepted_quote
from jobs.runs import recorded
from jobs.scheduler import dispatch_due, run_step_job, run_steps_job, sweep_pending_jobs_job
from webhooks.group_apply import GroupApplier
from webhooks.jobs import process_deliveries, process_delivery, sweep_pending_deliveries

FUNCTIONS: list[Any] = [
    process_delivery,
    process_deliveries,
    func(run_steps_job, name="run_steps"),
    func(run_step_job, name="run_step"),
    start_journey,
    continue_refresh,
    call_webhook,
    send_email,
    create_discount_code,
    complete_accepted_quote,
    func(slack_jobs.post_task_job, name="post_task"), slack_jobs.post_notification, slack_jobs.journey_stats,
    slack_jobs.journey_test, slack_jobs.erase_slack_message, journey_diagram,
]
CRON_JOBS: list[Any] = [
    cron(recorded(sweep_pending_jobs_job), second={0, 10, 20, 30, 40, 50}, unique=True),
    # Every 5 minutes: it starts the nightly run once past 03:10 and resumes one that lost its continuation.
    cron(recorded(refresh_intelligence), minute=set(range(0, 60, 5)), second={0}, unique=True),
    cron(recorded(scan_time_triggers_job), minute=None, second={30}, unique=True),
    cron(recorded(sweep_pending_deliveries), second={15, 45}, unique=True),
    cron(recorded(scan_abandoned_checkouts), second={5}, unique=True),
    cron(recorded(sweep_queued_emails), minute=set(range(0, 60, 5)), second={25}, unique=True),
    *(cron(recorded(job), second={10}, unique=True) for job in slack_jobs.CRONS),
    cron(recorded(post_weekly_digest), weekday=0, hour=8, minute=0, second=0, unique=True),
]
HEARTBEAT_KEY = "nurture:worker:heartbeat"
log = logging.getLogger(__name__)


async def heartbeat(ctx: dict[str, Any]) -> None:
    """Lets /healthz and operators see that some worker is alive."""
    services: Services = ctx["services"]
    await services.redis.set(HEARTBEAT_KEY, str(time.time()), ex=600)


def build_worker(services: Services, *, burst: bool = False, max_jobs: int = 50, scheduled: bool = True) -> Worker:
    """scheduled=False leaves out the cron jobs, which fire on the wall clock: the demo and the
    tests run scans themselves on their own clock, and a scan firing because a real minute
    turned over mid-run would make them depend on when they ran."""
    # The worker owns its Redis pool (arq closes it on shutdown).
    # poll_delay and queue_read_limit raised from arq's defaults, which cap at ~200 jobs/s.
    crons = CRON_JOBS if scheduled else []
    return Worker(
        functions=FUNCTIONS,
        cron_jobs=[cron(heartbeat, second={0, 30}, run_at_startup=True), *crons],
        redis_settings=services.redis_endpoint.settings,
        # arq copies this dict for every job: what it holds is shared by the worker's jobs.
        ctx={"services": services, "group_applier": GroupApplier(services)},
        burst=burst,
        max_jobs=max_jobs,
        poll_delay=0.05,
        queue_read_limit=max_jobs * 4,
        handle_signals=False,
        keep_result=60,
        max_tries=20,
        job_timeout=services.settings.job_timeout,
    )


async def run_burst(services: Services) -> int:
    """Run the queued jobs (no cron scans) until the queue is empty; returns jobs completed."""
    await services.inbox.settle()  # a request's 2xx comes before its batch is enqueued
    worker = build_worker(services, burst=True, scheduled=False)
    try:
        await worker.async_run()
    finally:
        await worker.close()
    return worker.jobs_complete


async def drain(services: Services, rounds: int = 50) -> int:
    """Dispatch due timers and run jobs, on the current clock time, until nothing is left."""
    ran = 0
    for _ in range(rounds):
        await services.inbox.settle()
        dispatched = await dispatch_due(services)
        if not dispatched and not await services.redis.zcard(default_queue_name):
            return ran
        ran += await run_burst(services)
    raise RuntimeError(f"jobs were still due or queued after {rounds} worker runs")


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
