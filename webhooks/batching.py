"""Group commit for the inbox: concurrent deliveries share one transaction and one enqueue.

A request still gets its 2xx only after its delivery is committed (durable), but
instead of one commit and one Redis round trip per request, every delivery that
arrives within a few milliseconds is written by one INSERT and dispatched by one
job. This is what lets ingest keep up with a bare aiohttp handler (bench/ingest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from webhooks.models import InboundDelivery


@dataclass
class PendingDelivery:
    provider: str
    external_id: str
    topic: str
    headers: dict[str, str]
    body: bytes
    done: asyncio.Future[tuple[int, bool]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def key(self) -> tuple[str, str]:
        return self.provider, self.external_id


Dispatch = Callable[[list[int]], Awaitable[None]]


async def _write(batch: list[PendingDelivery]) -> dict[tuple[str, str], tuple[int, bool]]:
    """Insert what is new; returns {key: (id, created)} for every delivery in the batch."""
    ids = [p.external_id for p in batch]
    async with in_transaction():
        existing = {
            (provider, external): row_id
            for row_id, provider, external in await InboundDelivery.filter(external_id__in=ids).values_list(
                "id", "provider", "external_id"
            )
        }
        fresh: dict[tuple[str, str], PendingDelivery] = {}
        for pending in batch:
            if pending.key not in existing:
                fresh.setdefault(pending.key, pending)
        now = dt.datetime.now(dt.UTC)
        await InboundDelivery.bulk_create(
            [InboundDelivery(provider=p.provider, external_id=p.external_id, topic=p.topic, headers=p.headers,
                             body=p.body, received_at=now) for p in fresh.values()],
            ignore_conflicts=True,
        )
        rows = await InboundDelivery.filter(external_id__in=[p.external_id for p in fresh.values()]).values_list(
            "id", "provider", "external_id"
        )
    created = {(provider, external): row_id for row_id, provider, external in rows if (provider, external) in fresh}
    result = {key: (row_id, False) for key, row_id in existing.items()}
    result.update({key: (row_id, True) for key, row_id in created.items()})
    return result


class InboxWriter:
    def __init__(self, dispatch: Dispatch, window: float = 0.002) -> None:
        self.dispatch = dispatch
        self.window = window
        self._pending: list[PendingDelivery] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, pending: PendingDelivery) -> tuple[int, bool]:
        self._pending.append(pending)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_after_window())
        return await pending.done

    async def _flush_after_window(self) -> None:
        # One writer at a time: whatever arrives while a batch commits forms the next batch,
        # so batches grow with load instead of commits queueing up behind each other.
        await asyncio.sleep(self.window)
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                await self._commit(batch)
        finally:
            self._flusher = None

    async def _commit(self, batch: list[PendingDelivery]) -> None:
        try:
            written = await _write(batch)
        except Exception as error:  # the requests answer 5xx and the providers retry
            for pending in batch:
                pending.done.set_exception(error)
            return
        for pending in batch:
            pending.done.set_result(written[pending.key])
        new_ids = sorted({row_id for row_id, created in written.values() if created})
        if new_ids:
            await self._dispatch_quietly(new_ids)

    async def _dispatch_quietly(self, ids: list[int]) -> None:
        # Committed rows stay pending if Redis is down; the sweeper enqueues them later.
        with contextlib.suppress(Exception):
            await self.dispatch(ids)
