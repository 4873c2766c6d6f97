"""The timer scheduler: the database holds every timer; this claims due ones and dispatches them.

Claims are leased (next_run_at pushed out by LEASE), so a job lost with Redis or a
killed worker is claimed again when the lease runs out; each step commits with
compare-and-set on its seq, so a timer dispatched twice still runs its step once.

Due steps go out in jobs of STEPS_PER_JOB, which the runner commits in one transaction:
one commit per batch instead of one per step is what lets a worker keep up with arq
itself. The scheduler claims only while the queue holds less than MAX_QUEUED_STEPS due
steps, so a burst of 100,000 timers waits in the database, not in Redis, and no claim's
lease runs out while its job is still queued.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from typing import Any

from arq.constants import default_queue_name
from tortoise.transactions import in_transaction

from core.queue import enqueue_many
from core.services import Services
from journeys.commit import sweep_pending_jobs
from journeys.models import Enrollment, EnrollmentState
from journeys.runner import run_step, run_steps

log = logging.getLogger(__name__)
LEASE = dt.timedelta(seconds=60)
BATCH = 500
STEPS_PER_JOB = 25
MAX_QUEUED_STEPS = 5_000
# A committed step's jobs normally leave within milliseconds; older ones were left by a crash.
PENDING_JOB_GRACE = dt.timedelta(seconds=10)


async def claim_due(services: Services, limit: int = BATCH) -> list[tuple[int, int]]:
    """Claim up to `limit` due enrollments (SKIP LOCKED on PostgreSQL); returns (id, seq) pairs."""
    now = services.clock.now()
    async with in_transaction():
        query = Enrollment.filter(
            state__in=(EnrollmentState.ACTIVE, EnrollmentState.WAITING), next_run_at__lte=now
        ).order_by("next_run_at").limit(limit)
        if services.settings.is_postgres:
            query = query.select_for_update(skip_locked=True)
        due: list[Any] = await query.values_list("id", "seq")
        if due:
            # A lease lasts LEASE of real time, also when the clock runs fast (`nurture dev`).
            lease_until = now + LEASE * services.clock.speed
            await Enrollment.filter(id__in=[row[0] for row in due]).update(next_run_at=lease_until)
    return [(int(row[0]), int(row[1])) for row in due]


async def dispatch_due(services: Services) -> int:
    """One scheduler pass: claim a batch (as much as the queue has room for) and enqueue it in jobs."""
    room = MAX_QUEUED_STEPS - STEPS_PER_JOB * await queued_jobs(services)
    if room <= 0:
        return 0
    claimed = await claim_due(services, min(BATCH, room))
    chunks = [claimed[i:i + STEPS_PER_JOB] for i in range(0, len(claimed), STEPS_PER_JOB)]
    await enqueue_many(services.redis, [("run_steps", {"steps": [list(pair) for pair in chunk]}, steps_job_id(chunk))
                                        for chunk in chunks])
    return len(claimed)


async def queued_jobs(services: Services) -> int:
    """Jobs due in the queue now (deferred ones, such as snoozed reminders, do not count)."""
    return int(await services.redis.zcount(default_queue_name, "-inf", int(time.time() * 1000)))


def steps_job_id(chunk: list[tuple[int, int]]) -> str:
    if len(chunk) == 1:
        return f"step:{chunk[0][0]}:{chunk[0][1]}"
    digest = hashlib.sha256(",".join(f"{i}:{s}" for i, s in chunk).encode()).hexdigest()[:20]
    return f"steps:{digest}"


async def scheduler_loop(services: Services, interval: float = 0.2) -> None:
    """Runs beside the arq worker in every `nurture worker` process; many may run at once."""
    while True:
        try:
            while await dispatch_due(services) >= BATCH:
                pass
        except Exception:  # keep scheduling through a database or Redis hiccup
            log.exception("scheduler pass failed")
        await asyncio.sleep(interval)


async def run_steps_job(ctx: dict[str, Any], *, steps: list[list[int]]) -> int:
    return await run_steps(ctx["services"], [(int(i), int(s)) for i, s in steps])


async def run_step_job(ctx: dict[str, Any], *, enrollment_id: int, seq: int) -> int:
    """Jobs queued by versions before batching."""
    return await run_step(ctx["services"], enrollment_id, seq)


async def sweep_pending_jobs_job(ctx: dict[str, Any]) -> int:
    return await sweep_pending_jobs(ctx["services"], PENDING_JOB_GRACE)
