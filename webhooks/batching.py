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
from typing import Any

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from webhooks.models import DeliveryStatus, InboundDelivery


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


# Keeps one INSERT under every database's bound-parameter limit (9 per row).
MAX_BATCH = 500
COLUMNS = ("provider", "external_id", "topic", "headers", "body", "status", "error", "attempts", "received_at")


def _insert_sql(rows: int, postgres: bool) -> str:
    """One INSERT for the whole batch; duplicates are skipped and only new rows come back."""
    width = len(COLUMNS)
    marks = (
        ",".join("(" + ",".join(f"${r * width + c + 1}" for c in range(width)) + ")" for r in range(rows))
        if postgres else ",".join(["(" + ",".join("?" * width) + ")"] * rows)
    )
    return (f"INSERT INTO inbound_deliveries ({','.join(COLUMNS)}) VALUES {marks} "
            "ON CONFLICT (provider, external_id) DO NOTHING RETURNING id, provider, external_id")


def _values(fresh: list[PendingDelivery], postgres: bool) -> list[Any]:
    fields = InboundDelivery._meta.fields_map
    now = fields["received_at"].to_db_value(dt.datetime.now(dt.UTC), InboundDelivery)
    values: list[Any] = []
    for p in fresh:
        headers = fields["headers"].to_db_value(p.headers, InboundDelivery)
        values += [p.provider, p.external_id, p.topic, headers, p.body, DeliveryStatus.PENDING.value, "", 0, now]
    return values


async def _write(batch: list[PendingDelivery]) -> dict[tuple[str, str], tuple[int, bool]]:
    """Insert what is new; returns {key: (id, created)} for every delivery in the batch."""
    fresh = list({p.key: p for p in batch}.values())
    connection = get_connection("default")
    postgres = connection.capabilities.dialect == "postgres"
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(_insert_sql(len(fresh), postgres), _values(fresh, postgres))
        result = {(row["provider"], row["external_id"]): (int(row["id"]), True) for row in rows}
        missing = [p.external_id for p in fresh if p.key not in result]
        if missing:  # duplicates of earlier deliveries: report the stored rows
            for row_id, provider, external in await InboundDelivery.filter(external_id__in=missing).values_list(
                "id", "provider", "external_id"
            ):
                result.setdefault((provider, external), (row_id, False))
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
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
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
        new_ids = sorted({row_id for row_id, created in written.values() if created})
        if new_ids:
            # Before answering: a 2xx then means "stored and queued" (or, with Redis down, stored
            # and left for the sweeper).
            await self._dispatch_quietly(new_ids)
        for pending in batch:
            pending.done.set_result(written[pending.key])

    async def _dispatch_quietly(self, ids: list[int]) -> None:
        # Committed rows stay pending if Redis is down; the sweeper enqueues them later.
        with contextlib.suppress(Exception):
            await self.dispatch(ids)
