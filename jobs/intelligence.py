"""Nightly cron: contact intelligence for the passage of time (score decay, engagement tags, segments).

The refresh runs in chunks of contacts, each chunk one transaction that also moves the run's
cursor (a `job_runs` row). A job works for NURTURE_CRON_BUDGET seconds (inside the job timeout), then enqueues its own
continuation; a run whose continuation was lost (a killed worker, a Redis restart) is picked up
by the next cron tick from its cursor. So no chunk is done twice, none is skipped, and a million
contacts are refreshed by a series of short jobs instead of one that arq would cancel half-way.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from typing import Any

from arq import Retry
from tortoise.transactions import in_transaction

from contacts.intelligence import refresh_chunk
from core.queue import enqueue_many
from core.services import Services
from jobs.models import JobRun, RunStatus
from pipeline.faults import is_transient
from pipeline.ingest import ingest

NAME = "refresh_intelligence"
CONTINUE = "continue_refresh"
ONCE = "once:"  # the period prefix of whole runs started in-process (never resumed by the cron)
START = dt.time(3, 10)  # the nightly run starts at this UTC time (or at the first tick after it)
STALE = dt.timedelta(minutes=5)  # a running run untouched this long lost its continuation
log = logging.getLogger(__name__)


async def _run_for(period: str, now: dt.datetime) -> JobRun:
    run, _ = await JobRun.get_or_create(name=NAME, period=period, defaults={"started_at": now, "updated_at": now})
    return run


async def _chunk(services: Services, run_id: int, chunk_size: int) -> tuple[JobRun, int]:
    """One chunk, committed with the run's cursor; returns the run and the events it emitted."""
    async with in_transaction():
        run = await JobRun.filter(id=run_id).select_for_update().get()
        if run.status != RunStatus.RUNNING:
            return run, 0
        chunk = await refresh_chunk(services.workspace.intelligence, run.cursor, chunk_size, run.started_at)
        now = services.clock.now()
        if chunk.last_id is None:
            run.status, run.finished_at = RunStatus.COMPLETED, now
        else:
            run.cursor, run.chunks = chunk.last_id, run.chunks + 1
            run.processed, run.changed = run.processed + chunk.processed, run.changed + chunk.changed
        run.updated_at = now
        await run.save()
    for contact_id in chunk.failed:
        log.error("intelligence refresh skipped contact %s: its data could not be refreshed", contact_id)
        services.metrics.refresh_failures.inc()
    services.metrics.refreshed.inc(chunk.processed)
    # Emitted after the commit, as for every event: journeys see the contact as it now is.
    return run, len(await ingest(services, chunk.events)) if chunk.events else 0


async def advance(services: Services, run_id: int, *, chunk_size: int,
                  budget: float | None = None) -> tuple[JobRun, int]:
    """Chunks until the run completes or `budget` seconds have passed; returns the run and events emitted."""
    started, emitted = time.monotonic(), 0
    while True:
        run, events = await _chunk(services, run_id, chunk_size)
        emitted += events
        if run.status != RunStatus.RUNNING or (budget is not None and time.monotonic() - started >= budget):
            return run, emitted


async def refresh_contacts(services: Services, now: dt.datetime | None = None) -> int:
    """A whole refresh now, in this process (tests, the demo, the CLI). Returns events emitted."""
    run = await _run_for(f"{ONCE}{uuid.uuid4().hex[:16]}", now or services.clock.now())
    return (await advance(services, run.id, chunk_size=services.settings.refresh_chunk))[1]


async def _continue_later(services: Services, run: JobRun) -> None:
    await enqueue_many(services.redis, [(CONTINUE, {"run_id": run.id}, f"refresh:{run.id}:{run.cursor}")])


async def _work_on(services: Services, run: JobRun) -> int:
    try:
        settings = services.settings
        run, emitted = await advance(services, run.id, chunk_size=settings.refresh_chunk, budget=settings.cron_budget)
    except Exception as error:
        if is_transient(error):
            raise Retry(defer=5) from error
        raise
    if run.status == RunStatus.RUNNING:
        await _continue_later(services, run)
    return emitted


async def refresh_intelligence(ctx: dict[str, Any]) -> int:
    """The cron tick: starts today's run once it is past START, and picks up a run whose
    continuation was lost. Returns the events this job emitted."""
    services: Services = ctx["services"]
    now = services.clock.now()
    stale = await JobRun.filter(name=NAME, status=RunStatus.RUNNING, updated_at__lt=now - STALE).exclude(
        period__startswith=ONCE).order_by("id").first()
    if stale is not None:
        log.warning("intelligence refresh %s resumes from contact %s", stale.period, stale.cursor)
        return await _work_on(services, stale)
    if now.time() < START:
        return 0
    run = await _run_for(now.date().isoformat(), now)
    return await _work_on(services, run) if run.status == RunStatus.RUNNING and run.chunks == 0 else 0


async def continue_refresh(ctx: dict[str, Any], *, run_id: int) -> int:
    services: Services = ctx["services"]
    run = await JobRun.get_or_none(id=run_id)
    return await _work_on(services, run) if run is not None and run.status == RunStatus.RUNNING else 0

