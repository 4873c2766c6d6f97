"""Group apply: the deliveries of every job that arrives while a batch is applied go in the next one.

The server's group commit writes what arrives during one INSERT, so under load a job holds a few
deliveries; a transaction, the reads a batch shares and the journeys' reads after it cost the
same for three deliveries as for three hundred. Jobs hand their ids to one applier per worker
and wait for them: while one batch is applied, the next gathers what the other jobs bring, so
batches grow with the backlog and nobody waits for a timer (as in inbox/writer.py). A group is
filled up with the oldest pending deliveries: under a backlog the queue hands out jobs more
slowly than a batch applies them, and a delivery whose job was lost is not left to the sweeper.

A job still ends only when its deliveries were applied (or failed for good): a worker killed
meanwhile leaves the job to arq's retry, and the deliveries already done are skipped then.
Within one worker, batches are applied one after another, in delivery-id order inside each.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from core.services import Services
from inbox.models import DeliveryStatus, InboundDelivery
from webhooks.processing import process_batch

# One transaction holds SQLite's write lock while it runs: the server's inserts wait for it.
MAX_GROUP = 100


@dataclass
class Waiting:
    ids: list[int]
    done: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupApplier:
    def __init__(self, services: Services, max_group: int = MAX_GROUP) -> None:
        self.services = services
        self.max_group = max_group
        self._waiting: list[Waiting] = []
        self._runner: asyncio.Task[None] | None = None

    async def apply(self, delivery_ids: list[int]) -> int:
        """Apply these deliveries (with whatever else is waiting); returns how many of them were open."""
        waiting = Waiting(list(delivery_ids))
        # A cancelled job never reads its outcome: retrieved here so asyncio does not log it as lost.
        waiting.done.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._waiting.append(waiting)
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        # The runner goes on when this job is cancelled (a timeout, a shutdown): the others wait on it.
        return await asyncio.shield(waiting.done)

    def _take(self) -> list[Waiting]:
        taken: list[Waiting] = []
        size = 0
        while self._waiting and (not taken or size + len(self._waiting[0].ids) <= self.max_group):
            taken.append(self._waiting.pop(0))
            size += len(taken[-1].ids)
        return taken

    async def _run(self) -> None:
        try:
            while self._waiting:
                await self._apply_group(self._take())
        finally:
            self._runner = None  # no await since the last look at _waiting: the next job starts one

    async def _oldest_pending(self, ids: set[int]) -> set[int]:
        """Pending deliveries to fill the group up with, oldest first: under a backlog the queue hands
        the worker jobs more slowly than it applies them, and the jobs of these find them done."""
        room = self.max_group - len(ids)
        if room <= 0:
            return set()
        oldest = await InboundDelivery.filter(status=DeliveryStatus.PENDING).order_by("received_at").limit(
            room + len(ids)).values_list("id", flat=True)
        return set([int(str(row_id)) for row_id in oldest if row_id not in ids][:room])

    async def _apply_group(self, group: list[Waiting]) -> None:
        ids = {delivery_id for waiting in group for delivery_id in waiting.ids}
        try:
            listed = await InboundDelivery.filter(id__in=ids | await self._oldest_pending(ids)).order_by("id")
            # Only pending ones: a failed delivery was decided (a replay makes it pending again),
            # and one applied by an earlier group is done whatever its job still says.
            deliveries = [delivery for delivery in listed if delivery.status == DeliveryStatus.PENDING]
            open_ids = {delivery.id for delivery in deliveries}
            await process_batch(self.services, deliveries)
        except Exception as error:  # every job of the group retries (a transient fault) or fails
            for waiting in group:
                if not waiting.done.done():
                    waiting.done.set_exception(error)
            return
        except BaseException:  # the worker stops: its jobs are retried by the next one
            for waiting in group:
                waiting.done.cancel()
            raise
        for waiting in group:
            if not waiting.done.done():
                waiting.done.set_result(sum(1 for i in waiting.ids if i in open_ids))

