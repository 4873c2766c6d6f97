"""Turn stored deliveries into normalized events and apply them, recording each one's outcome.

A group-committed batch is applied in one transaction (`process_batch`): every delivery's
events in arrival order (so a contact's events keep their order), the deliveries marked
processed in the same transaction, then journeys hear of the events after the commit. One
commit per batch instead of one per event is where the throughput comes from. When anything in
the batch fails, the transaction rolls back and every delivery is processed alone (`process`),
so one bad payload is recorded as failed and holds nobody else back.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from contacts.batch import Batch
from contacts.events import NormalizedEvent
from contacts.ingest import Applied
from core.errors import UnprocessablePayload
from core.services import Services
from inbox.models import DeliveryStatus, InboundDelivery
from pipeline.faults import TRANSIENT, is_transient
from pipeline.ingest import apply_all, ingest, needs_its_own_transaction, react
from webhooks.providers import IgnoredTopic, provider_for

log = logging.getLogger(__name__)
DONE = (DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED)


class StorageUnavailable(ConnectionError):
    """The database connection broke (or the database was locked) while a delivery was applied."""


def _parse(delivery: InboundDelivery) -> list[NormalizedEvent]:
    return provider_for(delivery.provider).parse(delivery.headers, bytes(delivery.body))


async def process(services: Services, delivery: InboundDelivery) -> InboundDelivery:
    if delivery.status in DONE:
        return delivery
    delivery.attempts += 1
    try:
        await ingest(services, _parse(delivery), delivery_id=delivery.id)
    except IgnoredTopic as why:
        delivery.status, delivery.error = DeliveryStatus.IGNORED, str(why)
    except UnprocessablePayload as error:
        delivery.status, delivery.error = DeliveryStatus.FAILED, str(error)
    except TRANSIENT:
        raise  # the job retries; the row stays pending meanwhile
    except Exception as error:
        if is_transient(error):  # nothing was committed: the transaction died with its connection
            raise StorageUnavailable(f"{type(error).__name__}: {error}") from error
        # A bug of ours must not lose the delivery: keep it failed, visible and replayable.
        log.exception("processing delivery %s failed", delivery.id)
        delivery.status, delivery.error = DeliveryStatus.FAILED, f"internal error: {type(error).__name__}: {error}"
    else:
        delivery.status, delivery.error = DeliveryStatus.PROCESSED, ""
    await _record(services, delivery)
    return delivery


async def _record(services: Services, delivery: InboundDelivery) -> None:
    delivery.processed_at = dt.datetime.now(dt.UTC)
    await delivery.save(update_fields=["status", "error", "attempts", "processed_at"])
    services.metrics.deliveries.labels(delivery.provider, delivery.status.value).inc()


@dataclass
class Planned:
    """A delivery parsed ahead of its batch: its events, or the outcome parsing already decided."""

    delivery: InboundDelivery
    events: list[NormalizedEvent]
    status: DeliveryStatus = DeliveryStatus.PROCESSED
    error: str = ""


def _plan(delivery: InboundDelivery) -> Planned | None:
    """None when the delivery must be processed alone (a privacy request, or a parser crash)."""
    try:
        events = _parse(delivery)
    except IgnoredTopic as why:
        return Planned(delivery, [], DeliveryStatus.IGNORED, str(why))
    except UnprocessablePayload as error:
        return Planned(delivery, [], DeliveryStatus.FAILED, str(error))
    except Exception:  # noqa: BLE001 - `process` records the crash on this delivery alone
        return None
    if any(needs_its_own_transaction(event) for event in events):
        return None
    return Planned(delivery, events)


def _runs(deliveries: list[InboundDelivery]) -> list[list[Planned] | InboundDelivery]:
    """The deliveries in id order, consecutive batchable ones grouped: order per contact is kept."""
    runs: list[list[Planned] | InboundDelivery] = []
    for delivery in sorted(deliveries, key=lambda d: d.id):
        planned = _plan(delivery)
        if planned is None:
            runs.append(delivery)
        elif runs and isinstance(runs[-1], list):
            runs[-1].append(planned)
        else:
            runs.append([planned])
    return runs


async def _apply_together(services: Services, run: list[Planned]) -> list[Applied]:
    applied: list[Applied] = []
    now = dt.datetime.now(dt.UTC)
    async with in_transaction():
        batch = await Batch.load([event for item in run for event in item.events])
        for item in run:
            if item.status == DeliveryStatus.PROCESSED:
                applied += await apply_all(services, item.events, item.delivery.id, batch)
        await batch.flush()
        applied = [a for a in applied if a.contact.id not in batch.forgotten]  # merged away: events moved on
        # One statement per outcome for the whole run (ignored and failed ones keep their own words).
        processed = [item.delivery.id for item in run if item.status == DeliveryStatus.PROCESSED]
        await InboundDelivery.filter(id__in=processed).update(status=DeliveryStatus.PROCESSED, error="",
                                                               attempts=F("attempts") + 1, processed_at=now)
        for item in run:
            if item.status != DeliveryStatus.PROCESSED:
                await InboundDelivery.filter(id=item.delivery.id).update(
                    status=item.status, error=item.error, attempts=F("attempts") + 1, processed_at=now)
    for item in run:  # committed: the rows say so, now the objects do too
        delivery = item.delivery
        delivery.status, delivery.error, delivery.attempts, delivery.processed_at = (
            item.status, item.error, delivery.attempts + 1, now)
        services.metrics.deliveries.labels(delivery.provider, delivery.status.value).inc()
    return applied


async def _apply_run(services: Services, run: list[Planned]) -> None:
    if len(run) == 1:
        await process(services, run[0].delivery)
        return
    try:
        applied = await _apply_together(services, run)
    except Exception as error:
        if isinstance(error, TRANSIENT) or is_transient(error):
            raise StorageUnavailable(f"{type(error).__name__}: {error}") from error
        # Rolled back: each delivery alone, so the one that failed is recorded and the rest go on.
        log.info("a batch of %d deliveries rolled back (%s): applying them one by one", len(run), error)
        for item in run:
            await process(services, item.delivery)
        return
    await react(services, applied)


async def process_batch(services: Services, deliveries: list[InboundDelivery]) -> int:
    """Apply the open deliveries of a group-committed batch (see the module); returns how many."""
    pending = [d for d in deliveries if d.status not in DONE]
    for run in _runs(pending):
        if isinstance(run, list):
            await _apply_run(services, run)
        else:
            await process(services, run)
    return len(pending)
