"""The timer scheduler: the database holds every timer; this claims due ones and dispatches them.

Claims are leased (next_run_at pushed out by LEASE), so a job lost with Redis or a
killed worker is claimed again when the lease runs out. Job ids are deterministic
(enrollment + seq), so a timer dispatched twice still runs its step once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from tortoise.transactions import in_transaction

from journeys.models import Enrollment, EnrollmentState
from journeys.runner import run_step, sweep_pending_jobs
from nurture.bootstrap import Services
from nurture.queue import enqueue_many

log = logging.getLogger(__name__)
LEASE = dt.timedelta(seconds=60)
BATCH = 500
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
            await Enrollment.filter(id__in=[row[0] for row in due]).update(next_run_at=now + LEASE)
    return [(int(row[0]), int(row[1])) for row in due]


async def dispatch_due(services: Services) -> int:
    """One scheduler pass: claim a batch and enqueue run_step for each."""
    claimed = await claim_due(services)
    await enqueue_many(services.redis, [("run_step", {"enrollment_id": enrollment_id, "seq": seq},
                                         f"step:{enrollment_id}:{seq}") for enrollment_id, seq in claimed])
    return len(claimed)


async def scheduler_loop(services: Services, interval: float = 0.2) -> None:
    """Runs beside the arq worker in every `nurture worker` process; many may run at once."""
    while True:
        try:
            while await dispatch_due(services) == BATCH:
                pass
        except Exception:  # keep scheduling through a database or Redis hiccup
            log.exception("scheduler pass failed")
        await asyncio.sleep(interval)


async def run_step_job(ctx: dict[str, Any], *, enrollment_id: int, seq: int) -> int:
    return await run_step(ctx["services"], enrollment_id, seq)


async def sweep_pending_jobs_job(ctx: dict[str, Any]) -> int:
    return await sweep_pending_jobs(ctx["services"], PENDING_JOB_GRACE)
