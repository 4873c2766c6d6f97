"""Jobs that arrive while a batch is applied are applied together (webhooks/group_apply.py), and a
job fills its batch up with the oldest pending deliveries: batches grow with the backlog."""

from __future__ import annotations

import asyncio

from contacts.models import Contact, Event
from core.queue import enqueue_many
from core.services import Services
from inbox.dispatch import BATCH_JOB
from inbox.models import InboundDelivery
from nurture.worker import run_burst
from tests.integration.test_batch_apply import order, store
from tests.support import QueryLog
from webhooks.group_apply import GroupApplier
from webhooks.jobs import process_deliveries


def batches_marked(log: QueryLog) -> int:
    """Statements that marked deliveries processed: one for every batch applied."""
    return sum(1 for sql, _ in log.queries if sql.startswith('UPDATE "inbound_deliveries"'))


async def test_jobs_waiting_together_share_one_batch(services: Services, query_log: QueryLog) -> None:
    jobs = [[await store(services, "orders/create", order(10 * job + n, f"b{job}-{n}@example.com"), f"g-{job}-{n}")
             for n in range(2)] for job in range(3)]
    ctx = {"services": services, "group_applier": GroupApplier(services)}
    query_log.queries.clear()
    counts = await asyncio.gather(*(process_deliveries(ctx, delivery_ids=ids) for ids in jobs))
    assert counts == [2, 2, 2]  # each job answers for its own deliveries
    assert set(await InboundDelivery.all().values_list("status", flat=True)) == {"processed"}
    assert await Event.filter(type="order.created").count() == 6
    assert batches_marked(query_log) == 1


async def test_a_job_fills_its_batch_with_the_oldest_pending_deliveries(services: Services) -> None:
    """A job whose enqueue is late (or lost) is not waited for: the next batch takes its deliveries."""
    first = await store(services, "orders/create", order(1, "first@example.com"), "p-1")
    later = [await store(services, "orders/create", order(n, f"later{n}@example.com"), f"p-{n}") for n in (2, 3)]
    ctx = {"services": services, "group_applier": GroupApplier(services)}
    assert await process_deliveries(ctx, delivery_ids=[first]) == 1
    assert set(await InboundDelivery.all().values_list("status", flat=True)) == {"processed"}
    assert await Contact.filter(email__startswith="later").count() == 2
    # Their own jobs come later and find nothing left to do: applied once.
    assert await process_deliveries(ctx, delivery_ids=later) == 0
    assert await Event.filter(type="order.created").count() == 3
    assert set(await InboundDelivery.all().values_list("attempts", flat=True)) == {1}


async def test_a_group_is_bounded(services: Services) -> None:
    ids = [await store(services, "orders/create", order(n, f"m{n}@example.com"), f"m-{n}") for n in range(5)]
    ctx = {"services": services, "group_applier": GroupApplier(services, max_group=2)}
    assert await process_deliveries(ctx, delivery_ids=ids[:1]) == 1
    assert await InboundDelivery.filter(status="processed").count() == 2  # its own and the oldest other
    assert await process_deliveries(ctx, delivery_ids=ids) == 3


async def test_the_worker_shares_one_applier_among_its_jobs(services: Services, query_log: QueryLog) -> None:
    """arq copies the ctx for every job: the applier must be in the dict it copies from."""
    ids = [await store(services, "orders/create", order(n, f"w{n}@example.com"), f"w-{n}") for n in range(4)]
    await enqueue_many(services.redis, [(BATCH_JOB, {"delivery_ids": [i]}, f"test-group:{i}") for i in ids])
    query_log.queries.clear()
    assert await run_burst(services) >= 4
    assert set(await InboundDelivery.all().values_list("status", flat=True)) == {"processed"}
    assert batches_marked(query_log) == 1  # one batch applied the four jobs' deliveries
