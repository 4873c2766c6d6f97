"""Group commit for the inbox: concurrent deliveries share one INSERT and one enqueue.

A request still gets its 2xx only after its delivery is committed (durable), but
instead of one commit and one Redis round trip per request, the deliveries that
arrive while a batch is being written are written together by the next INSERT and
dispatched by one job. This is what lets ingest keep up with a bare aiohttp handler
(bench/ingest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tortoise.connection import get_connection

from core.services import RawDelivery
from inbox.models import DeliveryStatus, InboundDelivery


@dataclass
class PendingDelivery:
    """A delivery waiting for its batch's INSERT; its request awaits `done`."""

    delivery: RawDelivery
    done: asyncio.Future[tuple[int, bool]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def key(self) -> tuple[str, str]:
        return self.delivery.key


# Enqueues one job per written batch (a list of batches: one Redis round trip for them all).
Dispatch = Callable[[list[list[int]]], Awaitable[None]]


# At most one enqueue (one job) in this many seconds under load.
DISPATCH_EVERY = 0.025
# Keeps one INSERT under every database's bound-parameter limit (6 per row).
MAX_BATCH = 500
COLUMNS = ("provider", "external_id", "topic", "headers", "body", "received_at")
# A new delivery's status, error and attempts are the same for every row: literals, not parameters.
CONSTANT_COLUMNS = {"status": f"'{DeliveryStatus.PENDING.value}'", "error": "''", "attempts": "0"}


@functools.lru_cache(maxsize=128)
def _insert_sql(rows: int, postgres: bool) -> str:
    """One INSERT for the whole batch; duplicates are skipped and only new rows come back."""
    width = len(COLUMNS)
    constants = ",".join(CONSTANT_COLUMNS.values())
    marks = ",".join(
        "(" + ",".join(f"${r * width + c + 1}" if postgres else "?" for c in range(width)) + f",{constants})"
        for r in range(rows)
    )
    names = ",".join((*COLUMNS, *CONSTANT_COLUMNS))
    return (f"INSERT INTO inbound_deliveries ({names}) VALUES {marks} "
            "ON CONFLICT (provider, external_id) DO NOTHING RETURNING id, provider, external_id")


def _values(fresh: list[PendingDelivery]) -> list[Any]:
    fields = InboundDelivery._meta.fields_map
    now = fields["received_at"].to_db_value(dt.datetime.now(dt.UTC), InboundDelivery)
    encode = fields["headers"].encoder  # type: ignore[attr-defined]
    values: list[Any] = []
    for p in (pending.delivery for pending in fresh):
        values += [p.provider, p.external_id, p.topic, encode(p.headers), p.body, now]
    return values


async def _write(batch: list[PendingDelivery]) -> dict[tuple[str, str], tuple[int, bool]]:
    """Insert what is new; returns {key: (id, created)} for every delivery in the batch."""
    # In key order: two batches in flight that both hold a duplicate of the same deliveries wait
    # on each other's rows in the same order, never in a cycle (PostgreSQL would detect a deadlock).
    fresh = sorted({p.key: p for p in batch}.values(), key=lambda p: p.key)
    connection = get_connection("default")
    postgres = connection.capabilities.dialect == "postgres"
    # One statement is its own transaction: no BEGIN/COMMIT round trips on the hot path.
    rows = await connection.execute_query_dict(_insert_sql(len(fresh), postgres), _values(fresh))
    result = {(row["provider"], row["external_id"]): (int(row["id"]), True) for row in rows}
    missing = {p.key for p in fresh if p.key not in result}
    if missing:  # duplicates of earlier deliveries: report the stored rows
        stored = InboundDelivery.filter(
            provider__in={provider for provider, _ in missing}, external_id__in={external for _, external in missing}
        ).values_list("id", "provider", "external_id")
        for row_id, provider, external in await stored:
            if (provider, external) in missing:  # another provider may use the same id
                result[(provider, external)] = (row_id, False)
    return result


class InboxWriter:
    def __init__(self, dispatch: Dispatch, writers: int = 2, dispatch_timeout: float = 5.0,
                 dispatch_every: float = DISPATCH_EVERY) -> None:
        self.dispatch = dispatch
        self.max_writers = writers
        self.dispatch_timeout = dispatch_timeout
        self.dispatch_every = dispatch_every
        self._dispatched_at = -math.inf
        self._pending: list[PendingDelivery] = []
        self._writers: set[asyncio.Task[None]] = set()
        self._gatherer: asyncio.Task[None] | None = None  # the writer still collecting its batch
        self._undispatched: list[list[int]] = []
        self._dispatcher: asyncio.Task[None] | None = None

    async def submit(self, delivery: RawDelivery) -> tuple[int, bool]:
        pending = PendingDelivery(delivery)
        self._pending.append(pending)
        self._start_writer_if_needed()
        return await pending.done

    async def settle(self) -> None:
        """Wait until every submitted delivery is written and handed to the queue (shutdown, tests)."""
        while self._writers or self._dispatcher:
            await asyncio.wait({*self._writers, *([self._dispatcher] if self._dispatcher else [])})

    def _start_writer_if_needed(self) -> None:
        if self._pending and self._gatherer is None and len(self._writers) < self.max_writers:
            self._gatherer = asyncio.create_task(self._write_pending())
            self._writers.add(self._gatherer)
            self._gatherer.add_done_callback(self._writer_done)

    def _writer_done(self, writer: asyncio.Task[None]) -> None:
        # Also runs for a writer cancelled or failed before it looked at _pending: whatever it
        # left behind gets a new writer instead of waiting for the next request.
        self._writers.discard(writer)
        if self._gatherer is writer:
            self._gatherer = None
        self._start_writer_if_needed()

    async def _write_pending(self) -> None:
        # One turn of the loop lets requests read together join this batch. Up to `writers`
        # batches are in flight: while one commits, the next gathers whatever arrives meanwhile,
        # so batches grow with load and no request waits for a timer.
        await asyncio.sleep(0)
        self._gatherer = None
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            await self._commit(batch)
        # No await between the last look at _pending and leaving the set: a request arriving
        # from here on sees one writer fewer and starts its own.
        self._writers.discard(asyncio.current_task())  # type: ignore[arg-type]

    async def _commit(self, batch: list[PendingDelivery]) -> None:
        try:
            written = await _write(batch)
        except Exception as error:  # the requests answer 5xx and the providers retry
            for pending in batch:
                _fail(pending, error)
            return
        except BaseException:  # cancelled at shutdown: no request may wait forever
            for pending in batch:
                _fail(pending, ConnectionError("the server stopped while storing this delivery"))
            raise
        _answer(batch, written)
        # The answers go out first: a 2xx means "stored". The enqueue follows at once; if this
        # process dies in between, or Redis is down or hangs, the sweeper enqueues the rows later.
        new_ids = sorted({row_id for row_id, created in written.values() if created})
        if new_ids:
            self._undispatched.append(new_ids)
            self._start_dispatcher_if_needed()

    def _start_dispatcher_if_needed(self) -> None:
        # Off the writer's path: a writer waiting for Redis could not write the next batch, and
        # the round trip (slowed by the busy event loop) took as long as the INSERT itself.
        if self._undispatched and self._dispatcher is None:
            self._dispatcher = asyncio.create_task(self._dispatch_pending())
            self._dispatcher.add_done_callback(self._dispatcher_done)

    def _dispatcher_done(self, dispatcher: asyncio.Task[None]) -> None:
        if self._dispatcher is dispatcher:  # cancelled or failed: what it left gets a successor
            self._dispatcher = None
            self._start_dispatcher_if_needed()

    async def _dispatch_pending(self) -> None:
        # Whatever batches were written while the last round trip ran go together in the next, and
        # under load at most one enqueue every `dispatch_every`: each job costs the worker's queue
        # the same few round trips however many deliveries it holds, and too many of them put the
        # queue (with the journeys' jobs in it) seconds behind. A quiet server enqueues at once.
        while self._undispatched:
            if (wait := self._dispatched_at + self.dispatch_every - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            self._dispatched_at = time.monotonic()
            batches, self._undispatched = self._undispatched, []
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.dispatch_timeout):
                    await self.dispatch(batches)
        self._dispatcher = None  # no await since the last look: a new batch starts a new dispatcher


def _answer(batch: list[PendingDelivery], written: dict[tuple[str, str], tuple[int, bool]]) -> None:
    answered: set[tuple[str, str]] = set()
    for pending in batch:
        if pending.key not in written:  # a duplicate whose row was erased meanwhile: the sender retries
            _fail(pending, LookupError(f"delivery {pending.delivery.external_id} vanished while stored"))
            continue
        row_id, created = written[pending.key]
        # The same delivery twice in one batch: the first is new, the second a duplicate of it.
        if not pending.done.done():  # its request may have been cancelled meanwhile
            pending.done.set_result((row_id, created and pending.key not in answered))
        answered.add(pending.key)


def _fail(pending: PendingDelivery, error: BaseException) -> None:
    if not pending.done.done():
        pending.done.set_exception(error)
