"""The inbox's group commit: concurrent deliveries share one INSERT and one enqueue, each request
still learns its own row, duplicates stay single, and the enqueue follows the answer."""

from __future__ import annotations

import asyncio

from core.services import RawDelivery, Services
from inbox.models import DeliveryStatus, InboundDelivery
from inbox.writer import InboxWriter


def delivery(external_id: str, provider: str = "shopify") -> RawDelivery:
    return RawDelivery(provider, external_id, "orders/create", {"x-shopify-topic": "orders/create"}, b"{}")


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, batches: list[list[int]]) -> None:
        self.calls += 1
        await self.release.wait()
        self.batches.extend(batches)


async def test_concurrent_deliveries_share_one_insert_and_one_enqueue(services: Services) -> None:
    recorder = Recorder()
    writer = InboxWriter(recorder)
    answers = await asyncio.gather(*(writer.submit(delivery(f"wh-{n}")) for n in range(50)))
    await writer.settle()
    rows = dict(await InboundDelivery.all().values_list("external_id", "id"))
    assert [row_id for row_id, _ in answers] == [rows[f"wh-{n}"] for n in range(50)]
    assert all(created for _, created in answers)
    assert recorder.batches == [sorted(rows.values())]  # one job for the whole batch
    assert await InboundDelivery.filter(status=DeliveryStatus.PENDING).count() == 50


async def test_duplicates_in_one_batch_and_across_batches_are_stored_once(services: Services) -> None:
    writer = InboxWriter(Recorder())
    first, again = await asyncio.gather(writer.submit(delivery("wh-dup")), writer.submit(delivery("wh-dup")))
    later = await writer.submit(delivery("wh-dup"))
    assert first[0] == again[0] == later[0]
    assert (first[1], again[1], later[1]) == (True, False, False)
    assert await InboundDelivery.filter(external_id="wh-dup").count() == 1


async def test_a_duplicate_is_matched_to_its_own_providers_row(services: Services) -> None:
    # Two providers may number their deliveries alike: each duplicate answers with its own row.
    writer = InboxWriter(Recorder())
    shop, form = await asyncio.gather(writer.submit(delivery("42")), writer.submit(delivery("42", "forms")))
    again_shop, again_form = await asyncio.gather(writer.submit(delivery("42")), writer.submit(delivery("42", "forms")))
    assert shop[0] != form[0]
    assert (again_shop, again_form) == ((shop[0], False), (form[0], False))


async def test_the_answer_comes_before_the_enqueue_and_settle_waits_for_it(services: Services) -> None:
    recorder = Recorder()
    recorder.release.clear()  # the queue is slow: the enqueue hangs until released
    writer = InboxWriter(recorder)
    row_id, created = await writer.submit(delivery("wh-slow-queue"))
    assert created and await InboundDelivery.exists(id=row_id)  # stored and answered...
    assert recorder.batches == []  # ...while its enqueue is still waiting
    settling = asyncio.create_task(writer.settle())
    await asyncio.sleep(0)
    assert not settling.done()
    recorder.release.set()
    await settling
    assert recorder.batches == [[row_id]]


async def test_a_slow_queue_never_holds_up_the_writers(services: Services) -> None:
    recorder = Recorder()
    recorder.release.clear()  # the first enqueue hangs
    writer = InboxWriter(recorder)
    stored = [await writer.submit(delivery(f"wh-queue-{n}")) for n in range(5)]  # one after another
    assert all(created for _, created in stored)
    assert recorder.calls == 1 and recorder.batches == []
    recorder.release.set()
    await writer.settle()
    # The batches written meanwhile went together in the next round trip, each still its own job.
    assert recorder.calls == 2
    assert recorder.batches == [[row_id] for row_id, _ in stored]


async def test_a_failing_queue_still_answers_and_leaves_the_row_for_the_sweeper(services: Services) -> None:
    async def redis_down(batches: list[list[int]]) -> None:
        raise ConnectionError("Redis is down")

    writer = InboxWriter(redis_down)
    row_id, created = await writer.submit(delivery("wh-no-redis"))
    await writer.settle()
    assert created
    assert (await InboundDelivery.get(id=row_id)).status == DeliveryStatus.PENDING


async def test_a_writer_cancelled_before_it_starts_leaves_no_request_waiting(services: Services) -> None:
    writer = InboxWriter(Recorder())
    request = asyncio.create_task(writer.submit(delivery("wh-cancelled-writer")))
    while not writer._writers:  # the request is queued and its writer scheduled
        await asyncio.sleep(0)
    for task in list(writer._writers):
        task.cancel()
    row_id, created = await asyncio.wait_for(request, 30)  # a successor writer stores it
    assert created and await InboundDelivery.exists(id=row_id)


async def test_under_load_the_enqueues_are_spaced_and_each_takes_what_was_written_meanwhile(
        services: Services) -> None:
    """A quiet server enqueues at once; then at most one enqueue per `dispatch_every`, holding every
    batch written since: the worker's queue gets a few jobs a second, not one per INSERT."""
    recorder = Recorder()
    writer = InboxWriter(recorder, dispatch_every=0.5)
    first, _ = await writer.submit(delivery("pace-0"))
    await asyncio.sleep(0)  # the dispatcher's first round: no wait
    assert recorder.batches == [[first]]
    later = [(await writer.submit(delivery(f"pace-{n}")))[0] for n in range(1, 5)]  # four INSERTs
    assert recorder.calls == 1  # still within the half second
    await writer.settle()
    assert recorder.calls == 2 and recorder.batches == [[first], *([row_id] for row_id in later)]
