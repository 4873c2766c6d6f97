"""Long periodic jobs run in chunks: a run cut off (its continuation lost with Redis) resumes from
its stored cursor and completes, every contact refreshed exactly once; every cron run is recorded."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.constants import default_queue_name

from contacts import scoring
from contacts.models import Contact
from core.clock import ManualClock
from core.services import Services
from jobs.intelligence import STALE, refresh_contacts, refresh_intelligence
from jobs.models import JobRun, RunStatus
from jobs.runs import last_runs, recorded

DAY = dt.timedelta(days=1)
CONTACTS = 25


@pytest.fixture
async def small_chunks(services: Services) -> AsyncIterator[Services]:
    """10 contacts a chunk and no time budget: each job does one chunk, then hands over."""
    original = services.settings
    services.settings = dataclasses.replace(original, refresh_chunk=10, cron_budget=0.0)
    yield services
    services.settings = original


async def _idle_contacts(now: dt.datetime) -> list[Contact]:
    idle = now - 30 * DAY
    return [await Contact.create(email=f"c{n}@example.com", lead_score=80, last_activity_at=idle,
                                 created_at=idle) for n in range(CONTACTS)]


def _decayed_once(services: Services) -> int:
    config = services.workspace.intelligence.scoring.decay
    now = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    return scoring.decay(80, now - 30 * DAY, now, config, None)[0]


async def test_a_cut_off_refresh_resumes_from_its_cursor_and_completes(
    small_chunks: Services, clock: ManualClock, run_worker: Any,
) -> None:
    services = small_chunks
    clock.set(dt.datetime(2026, 3, 10, 3, 10, tzinfo=dt.UTC))
    contacts = await _idle_contacts(clock.now())
    await refresh_intelligence({"services": services})  # the 03:10 tick: one chunk, then a continuation
    run = await JobRun.get(name="refresh_intelligence", period="2026-03-10")
    assert (run.status, run.processed, run.cursor) == (RunStatus.RUNNING, 10, contacts[9].id)
    assert await services.redis.zcard(default_queue_name) == 1
    await services.redis.flushdb()  # Redis restarted: the continuation is gone
    clock.advance(STALE + dt.timedelta(minutes=1))
    await refresh_intelligence({"services": services})  # the next tick finds the stale run
    assert (await JobRun.get(id=run.id)).processed == 20
    await run_worker()  # the continuations run until the end
    run = await JobRun.get(id=run.id)
    assert (run.status, run.processed, run.chunks) == (RunStatus.COMPLETED, CONTACTS, 3)
    scores = {c.lead_score for c in await Contact.all()}
    assert scores == {_decayed_once(services)}  # every contact once: none skipped, none twice
    await refresh_intelligence({"services": services})  # later ticks that day start nothing new
    assert await JobRun.filter(name="refresh_intelligence").count() == 1


async def test_a_second_run_right_after_changes_nothing(small_chunks: Services, clock: ManualClock) -> None:
    services = small_chunks
    await _idle_contacts(clock.now())
    await Contact.filter(email="c0@example.com").update(engagement_score=40)
    await refresh_contacts(services)
    first = await JobRun.all().order_by("id").first()
    assert first is not None and first.changed == CONTACTS
    clock.advance(dt.timedelta(seconds=5))
    await refresh_contacts(services)
    second = await JobRun.all().order_by("-id").first()
    assert second is not None and (second.status, second.processed, second.changed) == (
        RunStatus.COMPLETED, CONTACTS, 0)


async def test_the_refresh_does_not_start_before_its_hour(small_chunks: Services, clock: ManualClock) -> None:
    clock.set(dt.datetime(2026, 3, 10, 2, 55, tzinfo=dt.UTC))
    await _idle_contacts(clock.now())
    assert await refresh_intelligence({"services": small_chunks}) == 0
    assert not await JobRun.exists()


async def test_cron_runs_are_recorded_with_their_outcome(services: Services) -> None:
    async def tidy(ctx: dict[str, Any]) -> int:
        return 3

    async def broken(ctx: dict[str, Any]) -> None:
        raise ValueError("no such table")

    async def slow(ctx: dict[str, Any]) -> None:
        await asyncio.sleep(60)

    ctx = {"services": services}
    assert await recorded(tidy)(ctx) == 3
    with pytest.raises(ValueError):
        await recorded(broken)(ctx)
    task = asyncio.ensure_future(recorded(slow)(ctx))
    await asyncio.sleep(0.05)
    task.cancel()  # what arq does at the job timeout
    with pytest.raises(asyncio.CancelledError):
        await task
    runs = {run.name: run for run in await last_runs(services)}
    assert (runs["tidy"].outcome, runs["tidy"].detail) == ("completed", "3")
    assert (runs["broken"].outcome, runs["broken"].detail) == ("failed", "ValueError: no such table")
    assert runs["slow"].outcome == "cancelled" and runs["slow"].seconds >= 0.05
    assert services.metrics.cron_runs.labels("broken", "failed")._value.get() >= 1
