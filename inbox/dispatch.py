"""Jobs that process stored deliveries, enqueued by id (the worker's side is webhooks/jobs.py).

Through the atomic script rather than arq's enqueue_job: that one answers None, as for a
duplicate, when its connection dies between WATCH and EXEC, so a job could be dropped
without a word right after a Redis restart. Here a lost connection raises.
"""

from __future__ import annotations

from arq.connections import ArqRedis

from core.queue import enqueue_many

PROCESS_JOB = "process_delivery"
BATCH_JOB = "process_deliveries"


async def enqueue_processing(redis: ArqRedis, delivery_ids: list[int]) -> int:
    """One job per delivery (ids are deterministic: a delivery already queued or running is skipped)."""
    jobs = [(PROCESS_JOB, {"delivery_id": delivery_id}, f"delivery:{delivery_id}") for delivery_id in delivery_ids]
    return await enqueue_many(redis, jobs)


async def enqueue_batches(redis: ArqRedis, batches: list[list[int]]) -> None:
    """One job for the group-committed batches written since the last enqueue (the rows of their
    INSERTs: no id is in two of them, so neither in two jobs): a job costs the worker a few
    Redis round trips whatever it holds."""
    ids = sorted(delivery_id for batch in batches for delivery_id in batch)
    if ids:
        await enqueue_many(redis, [(BATCH_JOB, {"delivery_ids": ids}, f"deliveries:{ids[0]}:{ids[-1]}")])
