"""Jobs a committed step owes the world survive a crash between the commit and the enqueue: the
sweeper hands over those left behind, once, and leaves the ones still being handed over alone."""

from __future__ import annotations

import datetime as dt

from arq.constants import default_queue_name

from core.services import Services
from journeys.commit import record_jobs, sweep_pending_jobs
from journeys.models import PendingJob

OLD = dt.timedelta(minutes=5)


async def test_the_sweeper_enqueues_what_a_crash_left_behind_once(services: Services) -> None:
    await record_jobs([("send_email", {"message_id": 1}, "email:1"), ("send_email", {"message_id": 2}, "email:2")])
    await PendingJob.all().update(created_at=dt.datetime.now(dt.UTC) - 2 * OLD)  # the worker died long ago
    await record_jobs([("send_email", {"message_id": 3}, "email:3")])  # committed just now: still in hand
    assert await sweep_pending_jobs(services, OLD) == 2
    queued = sorted(job_id.decode() for job_id in await services.redis.zrange(default_queue_name, 0, -1))
    assert queued == ["email:1", "email:2"]
    assert [(row.job_id, row.name, row.kwargs) for row in await PendingJob.all()] == [
        ("email:3", "send_email", {"message_id": 3})]
    assert await sweep_pending_jobs(services, OLD) == 0  # handed over: nothing twice


async def test_a_job_recorded_twice_is_one_job(services: Services) -> None:
    await record_jobs([("post_task", {"task_id": 9}, "task:9")])
    await record_jobs([("post_task", {"task_id": 9}, "task:9")])  # a retried step records it again
    await PendingJob.all().update(created_at=dt.datetime.now(dt.UTC) - 2 * OLD)
    assert await sweep_pending_jobs(services, OLD) == 1
    assert await services.redis.zcard(default_queue_name) == 1
